"""Debian's Chromium as the browser tests launch it, and where they save screenshots."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# The machine has no outside network: keep Chromium from trying to reach it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def require_chromium() -> None:
    """Skip when Chromium is missing, except in CI, where that is a failure."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
