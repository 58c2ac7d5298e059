"""Malformed requests get OpenAI-style 4xx errors naming what is wrong, and the server keeps
serving afterwards."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

URL = "/v1/chat/completions"
OK_MESSAGES = [{"role": "user", "content": "hi"}]


def post(gateway, body, **kwargs) -> httpx.Response:
    content = json.dumps(body) if isinstance(body, (dict, list)) else body
    headers = {"content-type": "application/json"} | kwargs.pop("headers", {})
    return httpx.post(gateway.url + URL, content=content, headers=headers, timeout=30, **kwargs)


def assert_error(response: httpx.Response, status: int, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    assert error["message"]
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param
    return error


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"model": "railyard", "messages": [{"role": "wizard", "content": "x"}]},
            "messages.0.role",
        ),
        ({"model": "railyard", "messages": []}, "messages"),
        ({"model": "railyard"}, "messages"),
        ({"messages": OK_MESSAGES}, "model"),
        ({"model": "railyard", "messages": "hello"}, "messages"),
        ({"model": "railyard", "messages": OK_MESSAGES, "temperature": "hot"}, "temperature"),
        ({"model": "railyard", "messages": OK_MESSAGES, "temperature": 5}, "temperature"),
        ({"model": "railyard", "messages": OK_MESSAGES, "max_tokens": 0}, "max_tokens"),
        ({"model": "railyard", "messages": OK_MESSAGES, "max_tokens": 10**6}, "max_tokens"),
        ({"model": "railyard", "messages": OK_MESSAGES, "stream": "yes"}, "stream"),
        ({"model": "railyard", "messages": OK_MESSAGES, "n": 2}, "n"),
        ({"model": "railyard", "messages": OK_MESSAGES, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": "railyard", "messages": OK_MESSAGES, "tools": [{"type": "function"}]}, "tools"),
        ({"model": "railyard", "messages": [{"role": "user", "content": 42}]}, None),
        ({"model": "railyard", "messages": [{"role": "user", "content": " "}]}, "messages"),
    ],
)
def test_invalid_requests_are_400(gateway, body, param):
    assert_error(post(gateway, body), 400, param)


def test_bad_json_is_400(gateway):
    error = assert_error(post(gateway, "{not json"), 400)
    assert error["code"] == "invalid_json"


def test_non_object_body_is_400(gateway):
    assert_error(post(gateway, "[1, 2, 3]"), 400)


def test_unknown_model_is_404(client: openai.OpenAI):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9", messages=OK_MESSAGES)
    assert caught.value.code == "model_not_found"


def test_too_many_messages_is_400(gateway):
    messages = [{"role": "user", "content": "x"}] * 300
    assert_error(post(gateway, {"model": "railyard", "messages": messages}), 400, "messages")


def test_body_over_the_limit_is_413(gateway):
    body = {"model": "railyard", "messages": [{"role": "user", "content": "x" * 2_000_000}]}
    error = assert_error(post(gateway, body), 413)
    assert error["code"] == "request_too_large"


def test_chunked_body_over_the_limit_is_413(gateway):
    def chunks():
        yield b'{"model": "railyard", "messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"x" * 50_000
        yield b'"}]}'

    assert_error(post(gateway, chunks()), 413)


def test_unknown_path_is_404_in_openai_format(gateway):
    response = httpx.get(gateway.url + "/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_openai_sdk_raises_bad_request(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="railyard", messages=OK_MESSAGES, n=3)


def test_keeps_serving_after_bad_input(gateway, client: openai.OpenAI):
    for body in ("{", "[]", json.dumps({"model": "railyard", "messages": []})):
        post(gateway, body)
    completion = client.chat.completions.create(
        model="railyard", messages=OK_MESSAGES, max_tokens=8
    )
    assert completion.model_extra["railyard"]["route"] == "local"
