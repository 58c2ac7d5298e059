"""`railyard experiment fallback`: how much traffic can the local model take before paying for
an API, and what that does to quality and latency. Prints a table (rich), writes report.json
and fallback.png next to results.jsonl in --out, and the report as JSON last with --json."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from graph.routing import POLICIES, Routing, policy
from lab.report import provenance
from serving.settings import Settings

COLUMNS = {
    "cost/1k req $": ("cost_per_1k_requests_usd", "{:.4f}"),
    "p50 ms": ("latency_p50_ms", "{:.0f}"),
    "p95 ms": ("latency_p95_ms", "{:.0f}"),
    "TTFT p50 ms": ("ttft_p50_ms", "{:.0f}"),
    "fallback": ("fallback_rate", "{:.0%}"),
    "escalated": ("escalation_rate", "{:.0%}"),
    "match": ("answer_match", "{:.0%}"),
    "grounded": ("grounded", "{:.0%}"),
    "false refusals": ("false_refusals", "{:.0%}"),
    "refused unanswerable": ("refusal_on_unanswerable", "{:.0%}"),
    "errors": ("errors", "{}"),
}


def register(commands) -> None:
    experiment = commands.add_parser(
        "experiment", help="compare routing policies on a query set"
    ).add_subparsers(dest="experiment_command", required=True)
    fallback = experiment.add_parser(
        "fallback", help="replay queries under routing policies: cost, latency, quality"
    )
    fallback.set_defaults(handler=run)
    fallback.add_argument("--queries", default="evals/handbook-qa.jsonl", help="QA file (JSONL)")
    fallback.add_argument(
        "--policies",
        default=",".join(POLICIES),
        help=f"comma-separated: {', '.join(POLICIES)}",
    )
    fallback.add_argument(
        "--escalate-on-rail-fail",
        action="store_true",
        help="policies that can reach the fallback also escalate answers the output rails reject",
    )
    fallback.add_argument(
        "--corpus", required=True, help="the documents the queries ask about (a folder)"
    )
    fallback.add_argument("--out", default="experiments/fallback", help="results folder")
    fallback.add_argument("--limit", type=int, help="first N queries only")
    fallback.add_argument("--max-tokens", type=int, default=96)
    fallback.add_argument(
        "--extractive",
        choices=["never", "unsupported", "always"],
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


def policies(names: str, escalate: bool, max_difficulty: float) -> list[Routing]:
    chosen = [policy(n.strip(), max_difficulty) for n in names.split(",") if n.strip()]
    if escalate:
        chosen = [p.escalating() for p in chosen]
    unique: dict[str, Routing] = {}
    for p in chosen:
        unique.setdefault(p.name, p)
    return list(unique.values())


def fallback_target(settings: Settings) -> tuple[str, bool] | None:
    """What answers as the fallback, and whether it is OpenAI itself."""
    from serving.llm.client import OPENAI_BASE_URL

    if settings.fallback_base_url:
        return (
            f"configured fallback at {settings.fallback_base_url} answering as "
            f"'{settings.fallback_model}' (not OpenAI: quality is that server's model, prices "
            f"are {settings.fallback_model}'s)",
            False,
        )
    if settings.openai_api_key:
        return f"OpenAI API ({OPENAI_BASE_URL}, {settings.fallback_model})", True
    return None


def run(settings: Settings, args) -> int:
    from graph.prompt import Prompt
    from lab.experiment.plot import plot
    from lab.experiment.replay import RESULTS, ResultsFile, Setup
    from lab.jsonl import read_jsonl

    # Wide enough for the table when printed to a file or CI log.
    console = Console(stderr=args.json, width=None if sys.stdout.isatty() else 160)
    target = fallback_target(settings)
    if target is None:
        print(
            "railyard experiment: no fallback to compare with: set OPENAI_API_KEY, or "
            "RAILYARD_FALLBACK_BASE_URL to an OpenAI-compatible server (where OpenAI cannot be "
            "reached: `railyard standin --port 8002 --upstream http://127.0.0.1:8001/v1 "
            "--upstream-model local`)",
            file=sys.stderr,
        )
        return 2
    try:
        chosen = policies(
            args.policies, args.escalate_on_rail_fail, settings.routing_max_difficulty
        )
    except ValueError as e:
        print(f"railyard experiment: {e}", file=sys.stderr)
        return 2
    queries_path, corpus, out = Path(args.queries), Path(args.corpus), Path(args.out)
    if (problem := _unready(settings, queries_path, corpus)) is not None:
        print(f"railyard experiment: {problem}", file=sys.stderr)
        return 2
    queries = read_jsonl(queries_path)[: args.limit]
    prompt = Prompt.load(settings.prompt_file)
    setup = Setup(
        queries=hashlib.sha256(queries_path.read_bytes()).hexdigest(),
        corpus=str(corpus.resolve()),
        prompt=f"{prompt.version_id}#{prompt.content_hash}",
        fallback=target[0],
        extractive=args.extractive,
        answer=args.answer,
        max_tokens=args.max_tokens,
        max_difficulty=settings.routing_max_difficulty,
    )
    if args.restart:
        (out / RESULTS).unlink(missing_ok=True)
    try:
        results = ResultsFile(out, setup)
    except ValueError as e:
        print(f"railyard experiment: {e}", file=sys.stderr)
        return 2
    resumed = len(results.rows)
    asyncio.run(_replay(settings, corpus, queries, chosen, results, args, console))
    report = provenance(settings) | _report(results.rows, chosen, queries, target, args, resumed)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    title = f"{len(queries)} queries from {queries_path.name}; fallback: {target[0].split(' (')[0]}"
    plot(report["policies"], out / "fallback.png", title)
    _print(console, report, out)
    if args.json:
        print(json.dumps(report))
    return 0


def _unready(settings: Settings, queries: Path, corpus: Path) -> str | None:
    """Why the experiment cannot run: a missing file, or no local model answering."""
    from serving.llm.client import RouterChatModel

    for path in (queries, corpus):
        if not path.exists():
            return f"{path} does not exist"
    if not asyncio.run(RouterChatModel(settings).local_health()):
        return (
            f"the local model at {settings.local_url} does not answer: start it with "
            "`railyard vllm` or point RAILYARD_LOCAL_BASE_URL at a running vLLM"
        )
    return None


async def _replay(settings, corpus, queries, chosen, results, args, console) -> None:
    from lab.experiment.replay import replay
    from lab.harness import corpus_settings, services

    isolated = corpus_settings(settings, corpus)
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )  # fmt: skip
    async with services(isolated) as built:
        with Progress(*columns, console=console, transient=False) as bar:
            tasks = {p.name: bar.add_task(p.name, total=len(queries)) for p in chosen}
            await replay(
                built, queries, chosen, results,
                extractive=args.extractive, answer=args.answer, max_tokens=args.max_tokens,
                embed=built.knowledge.ingestor.embedder.embed,
                progress=lambda name: bar.advance(tasks[name]),
            )  # fmt: skip


def _report(rows, chosen, queries, target, args, resumed) -> dict[str, Any]:
    from lab.scoring import difficulty_auc, summarise

    by_policy = {p.name: [r for r in rows if r["policy"] == p.name] for p in chosen}
    summaries = {name: summarise(policy_rows) for name, policy_rows in by_policy.items()}
    local_rows = by_policy.get("local-only") or by_policy.get("local-first") or []
    return {
        "queries": len(queries),
        "fallback": target[0],
        "fallback_is_openai": target[1],
        "extractive": args.extractive,
        "answer": args.answer,
        "max_tokens": args.max_tokens,
        "resumed_rows": resumed,
        "policies": summaries,
        "difficulty_auc": difficulty_auc(local_rows),
    }


def _print(console: Console, report: dict[str, Any], out: Path) -> None:
    from lab.experiment.replay import RESULTS

    table = Table(title=f"fallback cost experiment ({report['queries']} queries per policy)")
    table.add_column("policy")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    for name, s in report["policies"].items():
        cells = ["-" if s[key] is None else fmt.format(s[key]) for key, fmt in COLUMNS.values()]
        table.add_row(name, *cells)
    console.print(table)
    console.print(f"fallback: {report['fallback']}")
    console.print(
        f"resumed: {report['resumed_rows']} of {report['queries'] * len(report['policies'])} "
        "rows came from an earlier run of the same setup and code"
    )
    for name, s in report["policies"].items():
        if s["fallback_reasons"] or s["rail_blocks"]:
            console.print(
                f"{name}: fallback reasons {s['fallback_reasons']}; rail blocks {s['rail_blocks']}"
            )
    auc = report["difficulty_auc"]
    if auc is not None:
        console.print(f"difficulty signal vs local failures: AUC {auc} (0.5 = chance)")
    console.print(
        f"results: {out / RESULTS} · report: {out / 'report.json'} · plot: {out / 'fallback.png'}"
    )
