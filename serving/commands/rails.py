"""`railyard rails test`: run the policy's test cases (YAML, `<policy>/cases/`) through the
same NeMo Guardrails engine that serves."""

from __future__ import annotations

import sys
from pathlib import Path


def register(commands) -> None:
    rails = commands.add_parser("rails", help="guardrails policy tools").add_subparsers(
        dest="rails_command", required=True
    )
    test = rails.add_parser("test", help="run the policy's test cases (YAML)")
    test.add_argument("cases", nargs="*", help="case files or folders (default: <policy>/cases)")
    test.add_argument("--policy", help="policy folder (default: RAILYARD_RAILS_DIR)")
    test.set_defaults(handler=test_policy)


def test_policy(settings, args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ingest.embedder import MiniLMEmbedder
    from rails.errors import RailsConfigError
    from rails.policy_tests import run

    policy = Path(args.policy) if args.policy else settings.rails_dir
    cases = [Path(c) for c in args.cases] or [policy / "cases"]
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
