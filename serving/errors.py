"""railyard's errors, and how each reaches a client in OpenAI's error envelope.

RailyardError
├── ConfigError           a setting or config file is wrong (named in the message); startup fails
└── APIError              answered to the client as {"error": {"message", "type", "code"}}
    ├── InvalidRequest    400 invalid_request_error
    ├── ModelNotFound     404 invalid_request_error / model_not_found
    ├── NotFound          404 invalid_request_error (e.g. an unknown trace id)
    ├── Unauthorized      401 invalid_request_error / invalid_api_key
    ├── Forbidden         403 invalid_request_error / permission_denied (e.g. admin only)
    ├── MisdirectedHost   421 invalid_request_error / invalid_host (DNS rebinding guard)
    ├── PayloadTooLarge   413 invalid_request_error / request_too_large
    ├── RateLimited       429 requests|tokens / rate_limit_exceeded, with Retry-After
    ├── BudgetExhausted   429 insufficient_quota: the fallback's daily budget is spent
    ├── UpstreamError     503 service_unavailable: no model route could answer
    │   └── UpstreamRefused  502 api_error / upstream_refused: the local server refused it
    ├── StoreUnavailable  503 service_unavailable / vector_store_unavailable
    ├── KeysUnavailable   503 service_unavailable / api_keys_unavailable (fail closed)
    └── RequestTimeout    504 timeout / request_timeout (RAILYARD_REQUEST_TIMEOUT_S)
"""

from __future__ import annotations

import math
from typing import Any

from graph.errors import ModelRefused


class RailyardError(Exception):
    """Base of every error railyard raises on purpose."""


class ConfigError(RailyardError):
    """A user's configuration mistake, found at startup."""


class APIError(RailyardError):
    status_code = 500
    type = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.code, self.param)

    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(APIError):
    status_code = 400
    type = "invalid_request_error"


class ModelNotFound(APIError):
    status_code = 404
    type = "invalid_request_error"
    code = "model_not_found"


class NotFound(APIError):
    status_code = 404
    type = "invalid_request_error"
    code = "not_found"


class Unauthorized(APIError):
    status_code = 401
    type = "invalid_request_error"
    code = "invalid_api_key"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(APIError):
    status_code = 403
    type = "invalid_request_error"
    code = "permission_denied"


class MisdirectedHost(APIError):
    status_code = 421
    type = "invalid_request_error"
    code = "invalid_host"


class RateLimited(APIError):
    status_code = 429
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: float | None, kind: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.type = kind

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


class BudgetExhausted(APIError):
    status_code = 429
    type = "insufficient_quota"
    code = "insufficient_quota"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


class BudgetExceeded(BudgetExhausted):
    """A project's or key's own spend budget (serving/access/budgets.py) is spent."""

    code = "budget_exceeded"


class StoreUnavailable(APIError):
    status_code = 503
    type = "service_unavailable"
    code = "vector_store_unavailable"


class KeysUnavailable(APIError):
    status_code = 503
    type = "service_unavailable"
    code = "api_keys_unavailable"


class RequestTimeout(APIError):
    status_code = 504
    type = "timeout"
    code = "request_timeout"


class PayloadTooLarge(APIError):
    status_code = 413
    type = "invalid_request_error"
    code = "request_too_large"


class UpstreamError(APIError):
    status_code = 503
    type = "service_unavailable"
    code = "upstream_unavailable"


class UpstreamRefused(UpstreamError, ModelRefused):
    """The local model server refused the request (a 4xx): not retried, not paid for again."""

    status_code = 502
    type = "api_error"
    code = "upstream_refused"


def error_body(
    message: str, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}
