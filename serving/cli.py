"""The `railyard` command line. Each command group is a module that owns its parser: its
`register(commands)` adds the sub-command and sets `handler(settings, args) -> exit code`. The
gateway's groups are listed here; the measuring tools in lab/ (bench, eval, experiment,
standin) register theirs under the `railyard.commands` entry-point group, so serving never
imports them."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from importlib.metadata import entry_points

from serving import offline
from serving.errors import ConfigError

GROUPS = (
    "serving.commands.serve",
    "serving.commands.ingest",
    "serving.commands.rails",
    "serving.commands.keys",
    "serving.commands.traces",
    "serving.commands.feedback",
    "serving.commands.drift",
    "serving.commands.prompts",
    "serving.commands.docs",
)
PLUGINS = "railyard.commands"
NOISY = ("httpx", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "nemoguardrails", "faiss.loader")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="railyard", description="railyard: a guarded gateway.")
    commands = root.add_subparsers(dest="command", required=True)
    modules = [importlib.import_module(name) for name in GROUPS]
    for plugin in sorted(entry_points(group=PLUGINS), key=lambda e: e.name):
        try:
            modules.append(plugin.load())
        except ModuleNotFoundError as e:
            # Declared but not installed (an image without lab/): the command is left out.
            if e.name is None or plugin.value.split(".")[0] != e.name.split(".")[0]:
                raise
    for module in modules:
        module.register(commands)
    return root


def configure_logging(settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for noisy in NOISY:
        # One line per upstream call is noise at INFO; they still log warnings and errors.
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))
    # milvus-lite's in-process gRPC server does not implement AllocTimestamp, which pymilvus
    # asks for once per client and does without: an ERROR with a traceback nobody can act on.
    logging.getLogger("grpc._server").addFilter(_not_unimplemented)


def _not_unimplemented(record: logging.LogRecord) -> bool:
    return "Method not implemented" not in record.getMessage()


def main(argv: list[str] | None = None) -> int:
    offline.apply_defaults()
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)

    from pydantic import ValidationError

    from serving.settings import Settings

    try:
        settings = Settings()
        configure_logging(settings)
        return args.handler(settings, args)
    except (ConfigError, ValidationError) as e:
        print(f"railyard: configuration error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
