"""The `railyard` command line."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys

from serving import offline
from serving.errors import ConfigError

# Sub-commands whose handlers (settings, args) -> exit code live in their own modules, imported
# only when run (they pull in heavy libraries).
COMMANDS = {
    "bench": "serving.bench_commands:bench",
    "eval": "serving.eval_commands:run_eval",
    "rails": "serving.eval_commands:rails_test",
    "keys": "serving.keys_commands:run",
    "experiment": "serving.experiment.command:run",
    "traces": "serving.trace_commands:run",
}


def main(argv: list[str] | None = None) -> int:
    offline.apply_defaults()
    parser = argparse.ArgumentParser(prog="railyard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve",
        help="run the gateway (and the local vLLM server unless RAILYARD_LOCAL_BASE_URL is set)",
    )
    commands.add_parser("vllm", help="run the local vLLM server alone, in the foreground")
    commands.add_parser("prepare-model", help="convert the packaged local model (once)")
    bench = commands.add_parser("bench", help="measure railyard against the bare components")
    bench.add_argument(
        "what",
        nargs="?",
        choices=["gateway", "ingest", "rails", "tracing", "cache"],
        default="gateway",
    )
    bench.add_argument(
        "--corpus",
        help="corpus to index (default: examples/knowledge-base; cache: the 18F handbook)",
    )
    bench.add_argument(
        "--pairs", default="evals/cache/paraphrases.jsonl", help="bench cache: question pairs"
    )
    bench.add_argument("--qa", default="evals/handbook-qa.jsonl", help="bench rails: questions")
    bench.add_argument("--limit", type=int, help="questions used from --qa (gateway 16, rails 40)")
    bench.add_argument("--data-dir", help="bench rails: an existing index (default: a fresh one)")
    bench.add_argument(
        "--cold", action="store_true", help="bench rails: no retrieved-chunk scan cache"
    )
    bench.add_argument("--sizes", default="10000,100000", help="bench ingest: index sizes")
    bench.add_argument("--rounds", type=int, default=2, help="passes over the question set")
    bench.add_argument(
        "--concurrency", type=int, help="concurrent streams (default 16; --load: 8 clients)"
    )
    bench.add_argument("--max-tokens", type=int, default=64)
    bench.add_argument(
        "--load", action="store_true", help="load test: throughput and p50/p95/p99, errors"
    )
    bench.add_argument("--requests", type=int, default=200, help="--load: requests per phase")
    bench.add_argument("--duration", type=float, default=60, help="--load: seconds per phase")
    bench.add_argument("--json", action="store_true", help="print a JSON summary last")
    _experiment_parser(commands)
    keys = commands.add_parser("keys", help="API keys (hashed in RAILYARD_API_KEYS_FILE)")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_add = keys_commands.add_parser("add", help="create a key for a project; printed once")
    keys_add.add_argument("--project", required=True)
    keys_add.add_argument("--user")
    keys_add.add_argument("--rpm", type=int, help="requests per minute for this key")
    keys_add.add_argument("--tpm", type=int, help="tokens per minute for this key")
    keys_list = keys_commands.add_parser("list", help="keys by id (hash prefix) and project")
    for sub in (keys_add, keys_list):
        sub.add_argument("--file", help="keys file (default RAILYARD_API_KEYS_FILE)")
    standin = commands.add_parser(
        "standin", help="an OpenAI-compatible stand-in for the fallback, with fault injection"
    )
    standin.add_argument("options", nargs="*", help="see `railyard standin --help`")
    ingest = commands.add_parser("ingest", help="index documents").add_subparsers(
        dest="ingest_command", required=True
    )
    ingest_run = ingest.add_parser("run", help="ingest files or folders once")
    ingest_run.add_argument("paths", nargs="+")
    ingest_run.add_argument("--json", action="store_true", help="print the summary as JSON last")
    ingest_watch = ingest.add_parser("watch", help="re-ingest a folder when its files change")
    ingest_watch.add_argument("path")
    ingest_schedule = ingest.add_parser("schedule", help="ingest a folder on a cron schedule")
    ingest_schedule.add_argument("path")
    ingest_schedule.add_argument("--cron", required=True, help='e.g. "0 2 * * *"')
    ingest_schedule.add_argument("--tz", default="UTC", help="IANA time zone, e.g. Asia/Taipei")
    rails = commands.add_parser("rails", help="guardrails policy tools").add_subparsers(
        dest="rails_command", required=True
    )
    rails_test = rails.add_parser("test", help="run the policy's test cases (YAML)")
    rails_test.add_argument(
        "cases", nargs="*", help="case files or folders (default: <policy>/tests)"
    )
    rails_test.add_argument("--policy", help="policy folder (default: RAILYARD_RAILS_DIR)")
    traces = commands.add_parser("traces", help="read request traces").add_subparsers(
        dest="traces_command", required=True
    )
    traces_list = traces.add_parser("list", help="traces, newest first")
    traces_list.add_argument("--since", help="only the last 15m, 2h, 7d, ...")
    traces_list.add_argument("--project")
    traces_list.add_argument("--route", choices=["local", "fallback", "cache", "blocked"])
    traces_list.add_argument(
        "--outcome",
        choices=["selected", "generated", "extractive", "no_context", "refused", "blocked"],
    )
    traces_list.add_argument("--limit", type=int, default=50)
    traces_list.add_argument("--json", action="store_true")
    traces_show = traces.add_parser("show", help="one trace, as JSON")
    traces_show.add_argument("trace_id")
    traces_feedback = traces.add_parser("feedback", help="feedback per prompt version")
    traces_feedback.add_argument("--json", action="store_true")
    traces_spend = traces.add_parser("spend", help="cost per day, project and user")
    traces_spend.add_argument("--days", type=float, default=7)
    traces_spend.add_argument("--project")
    traces_spend.add_argument("--json", action="store_true")
    evaluate = commands.add_parser("eval", help="evaluate retrieval and answers on a QA file")
    evaluate.add_argument(
        "what",
        nargs="?",
        default="all",
        choices=["all", "retrieval", "rails", "groundedness", "garak"],
        help="all (default): the QA file answered as `railyard serve` answers (its settings, "
        "rails on): citations, answers, groundedness, refusals, routes, cost, latency; "
        "retrieval: the search alone (dense, BM25, hybrid); groundedness: the groundedness "
        "rail on HaluEval (--halueval) or on sentences of the corpus",
    )
    evaluate.add_argument(
        "--report", action="append", default=[], help="garak: report.jsonl (repeat to compare)"
    )
    evaluate.add_argument("--attacks", default="evals/redteam/attacks.jsonl")
    evaluate.add_argument("--qa", default="evals/handbook-qa.jsonl", help="QA file (JSONL)")
    evaluate.add_argument("--corpus", default="../shared/corpora/18f-handbook")
    evaluate.add_argument(
        "--halueval", help="groundedness: HaluEval QA file (qa_one-turn_data.json)"
    )
    evaluate.add_argument(
        "--items", default="250-499", help="groundedness: HaluEval items to score (FIRST-LAST)"
    )
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON last")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["standin"]:  # its own options, parsed by serving.standin
        from serving.standin import main as standin_main

        standin_main(argv[1:])
        return 0
    args = parser.parse_args(argv)

    from pydantic import ValidationError

    from serving.settings import Settings

    try:
        settings = Settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
        )
        for noisy in ("httpx", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "nemoguardrails"):
            # One line per upstream call is noise at INFO; they still log warnings and errors.
            logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))
        if args.command in COMMANDS:
            module, function = COMMANDS[args.command].split(":")
            return getattr(importlib.import_module(module), function)(settings, args)
        if args.command == "ingest":
            return _ingest(settings, args)
        return {"serve": _serve, "vllm": _vllm, "prepare-model": _prepare}[args.command](settings)
    except (ConfigError, ValidationError) as e:
        print(f"railyard: configuration error: {e}", file=sys.stderr)
        return 2


def _experiment_parser(commands) -> None:
    experiment = commands.add_parser(
        "experiment", help="compare routing policies on a query set"
    ).add_subparsers(dest="experiment_command", required=True)
    fallback = experiment.add_parser(
        "fallback", help="replay queries under routing policies: cost, latency, quality"
    )
    fallback.add_argument("--queries", default="evals/handbook-qa.jsonl", help="QA file (JSONL)")
    fallback.add_argument(
        "--policies",
        default="local-only,local-first,api-only,quality-gated,difficulty",
        help="comma-separated: local-only, local-first, api-only, quality-gated, difficulty",
    )
    fallback.add_argument(
        "--escalate-on-rail-fail",
        action="store_true",
        help="policies that can reach the fallback also escalate answers the output rails reject",
    )
    fallback.add_argument("--corpus", default="../shared/corpora/18f-handbook")
    fallback.add_argument("--out", default="experiments/fallback", help="results folder")
    fallback.add_argument("--limit", type=int, help="first N queries only")
    fallback.add_argument("--max-tokens", type=int, default=96)
    fallback.add_argument(
        "--extractive",
        choices=["never", "fallback", "always"],
        default="never",
        help="answer mode under test (default never: every answer is the model's)",
    )
    fallback.add_argument(
        "--answer",
        choices=["generate", "select"],
        default="generate",
        help="how the local model answers (default generate: the policies compare models "
        "writing answers; select: the local model chooses retrieved sentences, and only "
        "escalations reach the fallback)",
    )
    fallback.add_argument("--restart", action="store_true", help="discard earlier results in --out")
    fallback.add_argument("--json", action="store_true", help="print the report as JSON last")


def _ingest(settings, args) -> int:
    from serving import ingest_commands

    if args.ingest_command == "run":
        return ingest_commands.run(settings, args.paths, args.json)
    if args.ingest_command == "watch":
        return ingest_commands.watch(settings, args.path)
    return ingest_commands.schedule(settings, args.path, args.cron, args.tz)


def _serve(settings) -> int:
    import uvicorn

    from serving.app import create_app

    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=settings.shutdown_grace_s + 5,
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
