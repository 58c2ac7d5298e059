"""Headless Chromium from Debian's package, driven by Playwright (its own browser download
cannot be reached here). The flags keep Chromium off the network it would otherwise call home
on (background updates, sync), which this machine refuses."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = (
    os.environ.get("RAILYARD_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip


@contextlib.contextmanager
def chromium() -> Iterator:
    """A Playwright Browser on the Debian binary."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, folder: Path, name: str) -> Path:
    """The whole page as `folder/name.png`; also into RAILYARD_SCREENSHOTS_DIR when set (how
    docs/console/ is refreshed: `RAILYARD_SCREENSHOTS_DIR=docs/console make test`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if extra := os.environ.get("RAILYARD_SCREENSHOTS_DIR"):
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / path.name)
    return path
