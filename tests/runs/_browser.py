"""Headless Chromium (Debian's `chromium` package) for the page tests: load a page, return its
DOM after the scripts ran and every console message it printed, save a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\))?:?\d*\]\s*(.*)")


def chromium_or_skip() -> str:
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless browser on PATH (looked for chromium, chromium-browser, google-chrome); "
                "install one with `apt-get install -y chromium` to run the report.html browser tests")


@dataclass
class Loaded:
    dom: str
    console: list[str]
    stderr: str

    def attribute(self, name: str) -> str | None:
        found = re.search(rf'<html[^>]*\s{name}="([^"]*)"', self.dom)
        return found.group(1) if found else None


def _base(binary: str, profile: Path) -> list[str]:
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]


def load(binary: str, url: str, profile: Path, wait_ms: int = 0) -> Loaded:
    """The DOM after load (and `wait_ms` of virtual time for timers and fetches), with the
    console messages the page printed."""
    extra = [f"--virtual-time-budget={wait_ms}"] if wait_ms else []
    proc = subprocess.run([*_base(binary, profile), *extra, "--dump-dom", url],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    console = [m.group(1) for line in proc.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return Loaded(proc.stdout, console, proc.stderr)


def screenshot(binary: str, url: str, out: Path, profile: Path, size: tuple[int, int] = (1400, 2400)) -> Path:
    proc = subprocess.run([*_base(binary, profile), f"--window-size={size[0]},{size[1]}",
                           f"--screenshot={out}", url], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-3000:]
    return out
