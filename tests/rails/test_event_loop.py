"""The rails' CPU work runs off the event loop (security review, issue 15 item 7): while the
input rails take seconds over a long message (Presidio, the injection patterns), the loop every
other request shares keeps running. A ticker on the same loop counts how often it got to run
during the check; on the loop, the work would have let it run only between actions."""

from __future__ import annotations

import asyncio
import gc
import itertools
import time

TICK_S = 0.02


async def test_a_long_message_does_not_stall_the_event_loop(engine):
    text = " ".join(
        f"Employee {i} asked about leave; write to staff{i}@example.com or call 202-555-{i:04d}."
        for i in range(700)
    )  # ~60 kB with hundreds of PII values to mask
    ticks: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(TICK_S)

    # As the gateway does after start-up (serving/app.py): the long-lived objects are kept
    # out of the collector's full passes, which in a process this size hold the GIL for
    # seconds (this test's process holds every session fixture).
    gc.collect()
    gc.freeze()
    task = asyncio.create_task(ticker())
    await asyncio.sleep(TICK_S * 2)
    start = time.perf_counter()
    result = await engine.check_input(text)
    took = time.perf_counter() - start
    stop.set()
    await task
    gc.unfreeze()
    assert "<EMAIL_ADDRESS_" in result.text  # the work was done
    during = [t for t in ticks if start <= t <= start + took]
    longest_stall = max(b - a for a, b in itertools.pairwise(ticks))
    print(f"check {took:.2f} s, {len(during)} ticks during it, longest stall {longest_stall:.3f} s")
    # The loop ran through the check, not only between its actions: its longest stall is a
    # small part of the check (on the loop, masking alone stalled it for most of it).
    assert longest_stall < took / 4
