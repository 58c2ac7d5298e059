"""`railyard bench [gateway|ingest|rails|tracing|cache]`: measurements against the bare
components, printed with rich (and as JSON last with --json)."""

from __future__ import annotations

import sys

from lab.report import emit

EXAMPLES = "examples/knowledge-base"


def register(commands) -> None:
    bench = commands.add_parser("bench", help="measure railyard against the bare components")
    bench.set_defaults(handler=bench_command)
    bench.add_argument(
        "what",
        nargs="?",
        choices=["gateway", "ingest", "rails", "tracing", "cache"],
        default="gateway",
    )
    bench.add_argument(
        "--corpus",
        help=f"corpus to index (default: {EXAMPLES}; cache: required, e.g. the 18F handbook)",
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
    bench.add_argument(
        "--workers", help="--load: against `railyard serve --workers N` for each N, e.g. 1,2"
    )
    bench.add_argument(
        "--redis-url", help="--workers: the Redis they share (default: a throwaway redis-server)"
    )
    bench.add_argument("--json", action="store_true", help="print a JSON summary last")


def bench_command(settings, args) -> int:

    if args.what == "ingest":
        from pathlib import Path

        from rich.console import Console
        from rich.pretty import Pretty

        from lab.bench.ingest import run

        sizes = [int(s) for s in args.sizes.split(",") if s]
        report = run(Path(args.corpus or EXAMPLES), sizes)
        Console(stderr=args.json).print(Pretty(report))
        if args.json:
            emit(report, settings)
        return 0

    if args.what == "rails":
        return _bench_rails(settings, args)
    if args.what == "tracing":
        return _bench_tracing(settings, args)
    if args.what == "cache":
        return _bench_cache(settings, args)

    if args.load and args.workers:
        return _bench_workers(settings, args)
    if args.load:
        return _bench_load(settings, args)
    return _bench_gateway(settings, args)


def _bench_load(settings, args) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from lab.bench.load import run

    report = run(
        settings, Path(args.qa), Path(args.corpus or EXAMPLES), limit=args.limit or 40,
        concurrency=args.concurrency or 8, requests=args.requests, duration_s=args.duration,
        max_tokens=args.max_tokens,
    )  # fmt: skip
    table = Table(title=f"load: {report['concurrency']} concurrent clients on loopback")
    for column in ("phase", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for phase in ("guarded", "cached"):
        row = report[phase]
        table.add_row(phase, *(str(row[k]) for k in (
            "requests", "errors", "throughput_rps", "p50_ms", "p95_ms", "p99_ms")))  # fmt: skip
    console = Console(stderr=args.json)
    console.print(table)
    console.print(f"gateway peak RSS {report['gateway_rss_peak_mib']} MiB")
    if args.json:
        emit(report, settings)
    return 0


def _bench_workers(settings, args) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from lab.bench.workers import run

    counts = [int(n) for n in args.workers.split(",")]
    report = run(
        settings, Path(args.qa), Path(args.corpus or EXAMPLES), counts,
        redis_url=args.redis_url, limit=args.limit or 40, concurrency=args.concurrency or 8,
        requests=args.requests, duration_s=args.duration, max_tokens=args.max_tokens,
    )  # fmt: skip
    title = (
        f"load against `railyard serve --workers N`: {report['concurrency']} concurrent "
        f"clients, {report['cpus']} CPUs"
    )
    table = Table(title=title)
    for column in ("workers", "phase", "requests", "errors", "req/s", "p50 ms", "p95 ms"):
        table.add_column(column, justify="right")
    first = report["workers"][str(counts[0])]
    for n in counts:
        for phase in ("guarded", "cached"):
            row = report["workers"][str(n)][phase]
            ratio = (
                f" ({row['throughput_rps'] / first[phase]['throughput_rps']:.2f}x)"
                if first[phase]["throughput_rps"]
                else ""
            )
            table.add_row(
                str(n), phase, str(row["requests"]), str(row["errors"]),
                f"{row['throughput_rps']}{ratio}", str(row["p50_ms"]), str(row["p95_ms"]),
            )  # fmt: skip
    console = Console(stderr=args.json)
    console.print(table)
    if args.json:
        emit(report, settings)
    return 0


def _bench_gateway(settings, args) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from lab.bench.gateway import run

    report = run(
        settings, Path(args.qa), Path(args.corpus or EXAMPLES), limit=args.limit or 16,
        rounds=args.rounds, concurrency=args.concurrency or 16, max_tokens=args.max_tokens,
    )  # fmt: skip
    table = Table(title="railyard vs bare vLLM (same final prompt and tokens, greedy, streamed)")
    for column in ("", "railyard", "bare vLLM", "railyard / bare"):
        table.add_column(column, justify="right")
    ours, bare = report["railyard"], report["vllm"]
    for q in ("p50_ms", "p95_ms"):
        table.add_row(f"latency {q}", f"{ours[q]:.0f}", f"{bare[q]:.0f}",
                      f"{ours[q] / bare[q]:.3f}")  # fmt: skip
    ttft = report["ttft"]
    table.add_row("TTFT p50 ms", f"{ttft['railyard_p50_ms']:.0f}", f"{ttft['vllm_p50_ms']:.0f}",
                  f"{report['ttft_diff_ms']:+.0f} ms")  # fmt: skip
    table.add_row("first checkable unit p50 ms", f"{ttft['railyard_p50_ms']:.0f}",
                  f"{ttft['vllm_checkable_p50_ms']:.0f}",
                  f"{report['ttft_checkable_diff_ms']:+.0f} ms")  # fmt: skip
    conc = report["concurrency"]
    table.add_row(
        f"tokens/s, {conc['streams']} streams", f"{conc['railyard_tokens_per_s']:.1f}",
        f"{conc['vllm_tokens_per_s']:.1f}", f"{report['concurrency_ratio']:.3f}",
    )  # fmt: skip
    console = Console(stderr=args.json)
    console.print(table)
    console.print(
        f"{report['pairs']} pairs, same completion tokens {report['same_completion_tokens']:.0%}; "
        f"per request ms {report['per_request']}; gateway peak RSS "
        f"{report['gateway_rss_peak_mib']} MiB; targets {report['targets']}"
    )
    for failure in report["retried_pairs"]:
        console.print(f"[yellow]a pair failed once and was retried: {failure}")
    if args.json:
        emit(report, settings)
    return 0


def _bench_rails(settings, args) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from lab.bench.rails import run

    data_dir = Path(args.data_dir) if args.data_dir else None
    report = run(
        settings, Path(args.qa), Path(args.corpus or EXAMPLES),
        limit=args.limit or 40, rounds=args.rounds, data_dir=data_dir, cold=args.cold,
    )  # fmt: skip
    table = Table(title=f"guardrails on vs off ({report['requests_per_side']} requests each)")
    for column in (
        "",
        "rails off p50",
        "rails on p50",
        "added p50",
        "off p95",
        "on p95",
        "added p95",
    ):
        table.add_column(column, justify="right")
    for mode in ("complete", "stream"):
        row = report[mode]
        table.add_row(
            mode,
            *(
                f"{row[side][q]:.1f}"
                for side, q in (("rails_off", "p50_ms"), ("rails_on", "p50_ms"))
            ),
            f"{row['added_p50_ms']:+.1f}",
            *(f"{row[side]['p95_ms']:.1f}" for side in ("rails_off", "rails_on")),
            f"{row['added_p95_ms']:+.1f}",
        )
    console = Console(stderr=args.json)
    console.print(table)
    console.print(
        f"ms; stream TTFT added p50 {report['stream']['ttft_added_p50_ms']:+.1f} ms · "
        f"answer modes {report['answer_modes']} · blocked {report['blocked']}\n"
        f"per-rail p50 ms {report['verdict_ms_p50']}"
    )
    if args.json:
        emit(report, settings)
    return 0


def _bench_tracing(settings, args) -> int:
    from pathlib import Path

    from rich.console import Console

    from lab.bench.tracing import run

    report = run(
        settings,
        Path(args.qa),
        Path(args.corpus or EXAMPLES),
        limit=args.limit or 40,
        rounds=args.rounds,
    )
    Console(stderr=args.json).print(
        f"tracing + metrics, {report['requests_per_side']} requests each: "
        f"p50 {report['untraced']['p50_ms']:.1f} -> {report['traced']['p50_ms']:.1f} ms "
        f"({report['added_p50_ms']:+.2f}), p95 {report['untraced']['p95_ms']:.1f} -> "
        f"{report['traced']['p95_ms']:.1f} ms ({report['added_p95_ms']:+.2f}); "
        f"{report['traces_stored']} traces stored"
    )
    if args.json:
        emit(report, settings)
    return 0


def _bench_cache(settings, args) -> int:
    from pathlib import Path

    from rich.console import Console

    from lab.bench.cache import run

    if not args.corpus:
        # The paraphrase set asks about a whole handbook, not only the sample knowledge base.
        print("railyard bench cache: give --corpus (the paraphrases' handbook)", file=sys.stderr)
        return 2
    report = run(settings, Path(args.pairs), Path(args.corpus))
    Console(stderr=args.json).print(report)
    if args.json:
        emit(report, settings)
    return 0
