"""The `railyard` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from serving import offline
from serving.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    offline.apply_defaults()
    parser = argparse.ArgumentParser(prog="railyard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the gateway (and the local vLLM server unless "
                        "RAILYARD_LOCAL_BASE_URL is set)")
    commands.add_parser("vllm", help="run the local vLLM server alone, in the foreground")
    commands.add_parser("prepare-model", help="convert the packaged local model (once)")
    args = parser.parse_args(argv)

    from pydantic import ValidationError

    from serving.settings import Settings

    try:
        settings = Settings()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        return {"serve": _serve, "vllm": _vllm, "prepare-model": _prepare}[args.command](settings)
    except (ConfigError, ValidationError) as e:
        print(f"railyard: configuration error: {e}", file=sys.stderr)
        return 2


def _serve(settings) -> int:
    import uvicorn

    from serving.app import create_app

    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
    )
    return 0


def _prepare(settings) -> int:
    from serving.local_model.supervisor import prepare_model

    print(asyncio.run(prepare_model(settings)))
    return 0


def _vllm(settings) -> int:
    from serving.local_model.supervisor import exec_foreground, prepare_model

    exec_foreground(settings, asyncio.run(prepare_model(settings)))
    return 0  # not reached: the process became vLLM


if __name__ == "__main__":
    sys.exit(main())
