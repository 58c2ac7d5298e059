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
    commands.add_parser(
        "serve",
        help="run the gateway (and the local vLLM server unless RAILYARD_LOCAL_BASE_URL is set)",
    )
    commands.add_parser("vllm", help="run the local vLLM server alone, in the foreground")
    commands.add_parser("prepare-model", help="convert the packaged local model (once)")
    bench = commands.add_parser("bench", help="measure railyard against the bare components")
    bench.add_argument("what", nargs="?", choices=["gateway", "ingest"], default="gateway")
    bench.add_argument("--corpus", default="examples/knowledge-base", help="bench ingest corpus")
    bench.add_argument("--sizes", default="10000,100000", help="bench ingest: index sizes")
    bench.add_argument("--gateway", help="railyard base URL (default: from settings)")
    bench.add_argument("--vllm", help="vLLM base URL (default: RAILYARD_LOCAL_BASE_URL or port)")
    bench.add_argument("--rounds", type=int, default=3, help="passes over the question set")
    bench.add_argument("--max-tokens", type=int, default=48)
    bench.add_argument("--json", action="store_true", help="print a JSON summary last")
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
    evaluate = commands.add_parser("eval", help="evaluate retrieval and answers on a QA file")
    evaluate.add_argument("what", choices=["retrieval", "answers", "rails", "groundedness"])
    evaluate.add_argument("--attacks", default="evals/redteam/attacks.jsonl")
    evaluate.add_argument("--qa", default="evals/handbook-qa.jsonl", help="QA file (JSONL)")
    evaluate.add_argument("--corpus", default="../shared/corpora/18f-handbook")
    evaluate.add_argument(
        "--variants", default="never,fallback,always",
        help="answer variants: extractive never / as fallback / always",
    )  # fmt: skip
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON last")
    args = parser.parse_args(argv)

    from pydantic import ValidationError

    from serving.settings import Settings

    try:
        settings = Settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
        )
        for noisy in ("httpx", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            # One line per upstream call is noise at INFO; they still log warnings and errors.
            logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))
        if args.command == "bench":
            return _bench(settings, args)
        if args.command == "ingest":
            return _ingest(settings, args)
        if args.command == "eval":
            return _eval(settings, args)
        if args.command == "rails":
            return _rails_test(settings, args)
        return {"serve": _serve, "vllm": _vllm, "prepare-model": _prepare}[args.command](settings)
    except (ConfigError, ValidationError) as e:
        print(f"railyard: configuration error: {e}", file=sys.stderr)
        return 2


def _ingest(settings, args) -> int:
    from serving import ingest_commands

    if args.ingest_command == "run":
        return ingest_commands.run(settings, args.paths, args.json)
    if args.ingest_command == "watch":
        return ingest_commands.watch(settings, args.path)
    return ingest_commands.schedule(settings, args.path, args.cron, args.tz)


def _eval(settings, args) -> int:
    import json
    from pathlib import Path

    from rich.console import Console
    from rich.pretty import Pretty

    from serving import evaluate

    qa = evaluate.load_qa(Path(args.qa))
    corpus = Path(args.corpus)
    if not corpus.exists():
        print(f"railyard eval: corpus {corpus} does not exist", file=sys.stderr)
        return 2
    if args.what in ("rails", "groundedness"):
        from serving import evaluate_rails

        if args.what == "rails":
            report = evaluate_rails.rails(settings, Path(args.attacks), Path(args.qa))
        else:
            report = evaluate_rails.groundedness(settings, corpus)
    elif args.what == "retrieval":
        report = evaluate.retrieval(settings, qa, corpus)
    else:
        variants = args.variants.split(",")
        report = asyncio.run(evaluate.answers(settings, qa, corpus, variants))
    Console(stderr=args.json).print(Pretty(report))
    if args.json:
        print(json.dumps(report))
    return 0


def _rails_test(settings, args) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from ingest.embedder import MiniLMEmbedder
    from rails.errors import RailsConfigError
    from rails.policy_tests import run

    policy = Path(args.policy) if args.policy else settings.rails_dir
    cases = [Path(c) for c in args.cases] or [policy / "tests"]
    try:
        outcomes = run(policy, cases, embed=MiniLMEmbedder().embed)
    except RailsConfigError as e:
        print(f"railyard rails test: {e}", file=sys.stderr)
        return 2
    table = Table(title=f"rails policy {policy}")
    for column in ("", "case", "expected", "got", "detail"):
        table.add_column(column)
    for o in outcomes:
        mark = "[green]pass[/]" if o.passed else "[red]FAIL[/]"
        name = o.case.name or (o.case.input or o.case.output or "")[:50]
        table.add_row(mark, f"{o.file}: {name}", o.case.expect, o.got, o.detail[:80])
    console = Console()
    console.print(table)
    failed = sum(not o.passed for o in outcomes)
    console.print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed or not outcomes else 0


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


def _bench(settings, args) -> int:
    import json

    if args.what == "ingest":
        from pathlib import Path

        from rich.console import Console
        from rich.pretty import Pretty

        from serving.bench_ingest import run

        sizes = [int(s) for s in args.sizes.split(",") if s]
        report = run(Path(args.corpus), sizes)
        Console(stderr=args.json).print(Pretty(report))
        if args.json:
            print(json.dumps(report))
        return 0

    from rich.console import Console
    from rich.table import Table

    from graph.prompt import Prompt
    from serving.bench import rss_mib, run_latency

    gateway = args.gateway or f"http://{settings.host}:{settings.port}/v1"
    vllm = args.vllm or settings.local_url
    prompt = Prompt.load(settings.prompt_file)
    result = run_latency(
        gateway, vllm, settings.local_served_name, prompt, args.rounds, args.max_tokens
    )
    result["rss_mib"] = {
        "gateway": rss_mib(settings.port, tree=False),
        "vllm": rss_mib(settings.local_port, tree=True),
    }
    table = Table(title="railyard vs bare vLLM (same final prompt, greedy, streamed)")
    for column in ("", "p50 ms", "p95 ms", "TTFT p50 ms", "tokens/s"):
        table.add_column(column)
    for name in ("railyard", "vllm"):
        row = result[name]
        table.add_row(
            name,
            *(f"{row[k]:.1f}" for k in ("p50_ms", "p95_ms", "ttft_p50_ms", "tokens_per_s")),
        )
    console = Console(stderr=args.json)
    console.print(table)
    console.print(
        f"latency ratio p50 {result['latency_ratio_p50']:.3f} · tokens/s ratio "
        f"{result['tokens_per_s_ratio']:.3f} · TTFT diff {result['ttft_diff_ms']:.1f} ms · "
        f"same tokens {result['same_tokens']} · RSS MiB {result['rss_mib']}"
    )
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
