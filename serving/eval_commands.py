"""`railyard eval ...` and `railyard rails test`: evaluations and policy checks, printed with
rich (and as JSON last with --json)."""

from __future__ import annotations

import asyncio
import sys


def run_eval(settings, args) -> int:
    import json
    from pathlib import Path

    from rich.console import Console
    from rich.pretty import Pretty

    from serving import evaluate

    if args.what == "garak":
        return _garak(args)
    qa = evaluate.load_qa(Path(args.qa))
    corpus = Path(args.corpus)
    if not corpus.exists():
        print(f"railyard eval: corpus {corpus} does not exist", file=sys.stderr)
        return 2
    if args.what == "all":
        return _all(settings, args, qa, corpus)
    if args.what in ("rails", "groundedness"):
        from serving import evaluate_rails

        if args.what == "rails":
            from serving.evaluate_leaks import endpoint

            attacks, benign = Path(args.attacks), Path(args.qa)
            report = {
                "input_rails": evaluate_rails.rails(settings, attacks, benign),
                "endpoint": endpoint(settings, attacks, benign, corpus),
            }
        elif args.halueval:
            first, last = (int(n) for n in args.items.split("-"))
            report = evaluate_rails.halueval(settings, Path(args.halueval), first, last)
        else:
            report = evaluate_rails.groundedness(settings, corpus)
    else:
        report = evaluate.retrieval(settings, qa, corpus)
    Console(stderr=args.json).print(Pretty(report))
    if args.json:
        print(json.dumps(report))
    return 0


def _all(settings, args, qa, corpus) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from serving.evaluate_qa import evaluate

    report = asyncio.run(evaluate(settings, qa, corpus))
    table = Table(
        title=f"railyard eval: {report['questions']} questions ({report['answerable']} "
        f"answerable, {report['two_document']} two-document) on {corpus}, answers "
        f"{report['answer_mode']}, routing {report['routing']}, rails on"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    answers = report["answers"]
    for name in ("source_hit@1", "source_hit", "two_document_hit", "answer_match", "grounded",
                 "false_refusals", "refusal_on_unanswerable", "answered_by_model"):  # fmt: skip
        value = answers[name]
        table.add_row(name.replace("_", " "), "-" if value is None else f"{value:.1%}")
    for name in ("latency_p50_ms", "latency_p95_ms", "ttft_p50_ms"):
        value = answers[name]
        table.add_row(name.replace("_", " "), "-" if value is None else f"{value:.0f}")
    table.add_row("cost (USD, all questions)", f"{answers['cost_usd']:.6f}")
    console = Console(stderr=args.json)
    console.print(table)
    console.print(
        f"routes {answers['routes']} · fallback reasons {answers['fallback_reasons']} · "
        f"rail blocks {answers['rail_blocks']}"
    )
    if args.json:
        print(json.dumps(report))
    return 0


def _garak(args) -> int:
    import json
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from serving.evaluate_garak import score

    if not args.report:
        print("railyard eval garak: give at least one --report FILE.report.jsonl", file=sys.stderr)
        return 2
    reports = [score(Path(r)) for r in args.report]
    table = Table(title="garak attack success (share of prompts a detector flagged)")
    table.add_column("report")
    table.add_column("attempts", justify="right")
    table.add_column("attack success", justify="right")
    modules = sorted({m for r in reports for m in r["by_module"]})
    for module in modules:
        table.add_column(module, justify="right")
    for r in reports:
        rate = r["attack_success_rate"]
        table.add_row(
            Path(r["report"]).name, str(r["attempts"]), "-" if rate is None else f"{rate:.1%}",
            *(r["by_module"].get(m, "-") for m in modules),
        )  # fmt: skip
    Console(stderr=args.json).print(table)
    if args.json:
        print(json.dumps(reports))
    return 0


def rails_test(settings, args) -> int:
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
