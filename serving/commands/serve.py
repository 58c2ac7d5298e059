"""`railyard serve`, `railyard vllm` and `railyard prepare-model`: the gateway and its local
model server."""

from __future__ import annotations

import asyncio


def register(commands) -> None:
    commands.add_parser(
        "serve",
        help="run the gateway (and the local vLLM server unless RAILYARD_LOCAL_BASE_URL is set)",
    ).set_defaults(handler=serve)
    commands.add_parser(
        "vllm", help="run the local vLLM server alone, in the foreground"
    ).set_defaults(handler=vllm)
    commands.add_parser(
        "prepare-model", help="convert the packaged local model (once)"
    ).set_defaults(handler=prepare)


def serve(settings, args) -> int:
    import uvicorn

    from serving.app import create_app

    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # X-Forwarded-For counts only from the configured proxies (uvicorn trusts loopback's
        # by default, which would let any local client pick its own address).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        timeout_graceful_shutdown=settings.shutdown_grace_s + 5,
    )
    return 0


def prepare(settings, args) -> int:
    from serving.local_model.supervisor import prepare_model

    print(asyncio.run(prepare_model(settings)))
    return 0


def vllm(settings, args) -> int:
    from serving.local_model.supervisor import exec_foreground, prepare_model

    exec_foreground(settings, asyncio.run(prepare_model(settings)))
    return 0  # not reached: the process became vLLM
