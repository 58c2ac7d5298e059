"""`railyard serve`, `railyard vllm` and `railyard prepare-model`: the gateway and its local
model server."""

from __future__ import annotations

import asyncio


def register(commands) -> None:
    serving = commands.add_parser(
        "serve",
        help="run the gateway (and the local vLLM server unless RAILYARD_LOCAL_BASE_URL is set)",
    )
    serving.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="gateway processes on the one port (N > 1 needs RAILYARD_REDIS_URL; they share "
        "one vLLM and a milvus-lite server this process starts)",
    )  # fmt: skip
    serving.set_defaults(handler=serve)
    commands.add_parser(
        "vllm", help="run the local vLLM server alone, in the foreground"
    ).set_defaults(handler=vllm)
    commands.add_parser(
        "prepare-model", help="convert the packaged local model (once)"
    ).set_defaults(handler=prepare)


def serve(settings, args) -> int:
    import os

    import uvicorn

    from serving import workers
    from serving.app import check_exposure, create_app

    if args.workers > 1:
        # Checked here: a worker that fails its start-up is only restarted by uvicorn.
        check_exposure(settings)
        workers.check(settings, args.workers)
        with workers.shared_parts(settings) as shared:
            os.environ.update(shared)  # the workers read their settings from it
            uvicorn.run(
                "serving.app:from_environment", factory=True, workers=args.workers,
                **_uvicorn_options(settings),
            )  # fmt: skip
        return 0
    uvicorn.run(create_app(settings), **_uvicorn_options(settings))
    return 0


def _uvicorn_options(settings) -> dict:
    return dict(
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # one line per request of our own (serving/middleware.py AccessLog)
        # X-Forwarded-For counts only from the configured proxies (uvicorn trusts loopback's
        # by default, which would let any local client pick its own address).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        timeout_graceful_shutdown=settings.shutdown_grace_s + 5,
    )


def prepare(settings, args) -> int:
    from serving.local_model.supervisor import prepare_model

    print(asyncio.run(prepare_model(settings)))
    return 0


def vllm(settings, args) -> int:
    from serving.local_model.supervisor import exec_foreground, prepare_model

    exec_foreground(settings, asyncio.run(prepare_model(settings)))
    return 0  # not reached: the process became vLLM
