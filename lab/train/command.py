"""`railyard train ...`: fit the small models the rails read (their files are committed; this
is how they were made)."""

from __future__ import annotations

import sys


def register(commands) -> None:
    train = commands.add_parser("train", help="fit a rail's model from development data")
    train.set_defaults(handler=run_train)
    train.add_argument("what", choices=["directive"], help="directive: rails/injection/directive")
    train.add_argument("--bipia", required=True, help="the BIPIA folder (its train half is read)")
    train.add_argument("--corpus", required=True, help="the dev corpus (documents, not tasks)")
    train.add_argument("--attacks", default="evals/redteam/attacks.jsonl")
    train.add_argument("--out", help="where to write (default: rails/injection/directive.json)")


def run_train(settings, args) -> int:
    import json
    from pathlib import Path

    from lab.train.directive import WEIGHTS, fit, write

    for given in (args.bipia, args.corpus, args.attacks):
        if not Path(given).exists():
            print(f"railyard train: {given} does not exist", file=sys.stderr)
            return 2
    report = fit(Path(args.bipia), Path(args.corpus), Path(args.attacks))
    write(report, Path(args.out) if args.out else WEIGHTS)
    print(json.dumps({k: v for k, v in report.items() if k not in ("weights", "bias")}, indent=1))
    return 0
