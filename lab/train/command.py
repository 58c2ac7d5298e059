"""`railyard train ...`: fit the small models the rails read (their files are committed; this
is how they were made)."""

from __future__ import annotations

import sys


def register(commands) -> None:
    train = commands.add_parser("train", help="fit a rail's model from development data")
    train.set_defaults(handler=run_train)
    train.add_argument(
        "what", choices=["directive", "answerability"],
        help="directive: rails/injection/directive; answerability: graph/answerability.json "
        "(asks the dev questions through the served graph: needs the local model)",
    )  # fmt: skip
    train.add_argument("--bipia", required=True, help="the BIPIA folder (its train half is read)")
    train.add_argument("--corpus", required=True, help="the dev corpus (documents, not tasks)")
    train.add_argument("--attacks", default="evals/redteam/attacks.jsonl")
    train.add_argument(
        "--qa", action="append", default=[],
        help="answerability: dev QA files over --corpus (default: the 18F sets in evals/)",
    )  # fmt: skip
    train.add_argument("--halueval", help="answerability: HaluEval QA file (items 0-39 asked)")
    train.add_argument(
        "--features", help="answerability: JSONL of recorded signals: written when absent, "
        "read (no model calls) when present",
    )  # fmt: skip
    train.add_argument("--out", help="where to write (default: the model's file in the repo)")


def run_train(settings, args) -> int:
    import json
    from pathlib import Path

    if args.what == "answerability":
        return _answerability(settings, args)
    from lab.train.directive import WEIGHTS, fit, write

    for given in (args.bipia, args.corpus, args.attacks):
        if not Path(given).exists():
            print(f"railyard train: {given} does not exist", file=sys.stderr)
            return 2
    report = fit(Path(args.bipia), Path(args.corpus), Path(args.attacks))
    write(report, Path(args.out) if args.out else WEIGHTS)
    print(json.dumps({k: v for k, v in report.items() if k not in ("weights", "bias")}, indent=1))
    return 0


DEV_SETS = [
    "evals/handbook-qa.jsonl",
    "evals/handbook-colloquial.jsonl",
    "evals/handbook-colloquial-unanswerable.jsonl",
]


def _answerability(settings, args) -> int:
    import asyncio
    import json
    from pathlib import Path

    from graph.answerability import MODEL_FILE
    from lab.jsonl import read_jsonl
    from lab.train.answerability import collect, fit, training_questions

    qa = [Path(q) for q in args.qa or DEV_SETS]
    given = [*qa, Path(args.bipia), Path(args.corpus), *([Path(args.halueval)] if args.halueval
                                                          else [])]  # fmt: skip
    missing = [str(p) for p in given if not p.exists()] + ([] if args.halueval else ["--halueval"])
    if missing:
        print(f"railyard train answerability: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    features = Path(args.features) if args.features else None
    if features is not None and features.exists():
        rows = read_jsonl(features)
    else:
        items = training_questions(qa, Path(args.halueval), Path(args.bipia))
        rows = asyncio.run(collect(settings, Path(args.corpus), items))
        if features is not None:
            features.write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = fit(rows) | {
        "trained_on": [str(p) for p in qa] + [args.halueval, args.bipia],
        "signals_file": args.features,
        "command": "railyard train answerability " + " ".join(sys.argv[3:]),
    }
    out = Path(args.out) if args.out else MODEL_FILE
    out.write_text(json.dumps(spec, indent=1) + "\n")
    print(json.dumps({k: v for k, v in spec.items() if k not in ("means", "scales")}, indent=1))
    return 0
