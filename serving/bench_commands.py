"""`railyard bench [gateway|ingest|rails]`: measurements against the bare components, printed
with rich (and as JSON last with --json)."""

from __future__ import annotations

EXAMPLES = "examples/knowledge-base"


def bench(settings, args) -> int:
    import json

    if args.what == "ingest":
        from pathlib import Path

        from rich.console import Console
        from rich.pretty import Pretty

        from serving.bench_ingest import run

        sizes = [int(s) for s in args.sizes.split(",") if s]
        report = run(Path(args.corpus or EXAMPLES), sizes)
        Console(stderr=args.json).print(Pretty(report))
        if args.json:
            print(json.dumps(report))
        return 0

    if args.what == "rails":
        return _bench_rails(settings, args)
    if args.what == "tracing":
        return _bench_tracing(settings, args)
    if args.what == "cache":
        return _bench_cache(settings, args)

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


def _bench_rails(settings, args) -> int:
    import json
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from serving.bench_rails import run

    data_dir = Path(args.data_dir) if args.data_dir else None
    report = run(
        settings, Path(args.qa), Path(args.corpus or EXAMPLES),
        limit=args.limit, rounds=args.rounds, data_dir=data_dir, cold=args.cold,
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
        print(json.dumps(report))
    return 0


def _bench_tracing(settings, args) -> int:
    import json
    from pathlib import Path

    from rich.console import Console

    from serving.bench_tracing import run

    report = run(
        settings, Path(args.qa), Path(args.corpus or EXAMPLES), limit=args.limit, rounds=args.rounds
    )
    Console(stderr=args.json).print(
        f"tracing + metrics, {report['requests_per_side']} requests each: "
        f"p50 {report['untraced']['p50_ms']:.1f} -> {report['traced']['p50_ms']:.1f} ms "
        f"({report['added_p50_ms']:+.2f}), p95 {report['untraced']['p95_ms']:.1f} -> "
        f"{report['traced']['p95_ms']:.1f} ms ({report['added_p95_ms']:+.2f}); "
        f"{report['traces_stored']} traces stored"
    )
    if args.json:
        print(json.dumps(report))
    return 0


def _bench_cache(settings, args) -> int:
    import json
    from pathlib import Path

    from rich.console import Console

    from serving.bench_cache import run

    # The paraphrase set asks about the whole handbook, not only the sample knowledge base.
    corpus = Path(args.corpus or "../shared/corpora/18f-handbook")
    report = run(settings, Path(args.pairs), corpus)
    Console(stderr=args.json).print(report)
    if args.json:
        print(json.dumps(report))
    return 0
