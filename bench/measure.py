"""Timing and peak memory of one command, and the machine it ran on."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_rss_mib: float
    stdout: str = ""
    # user + system CPU of the command and every child it waited for (GNU time's %U + %S)
    cpu_seconds: float = float("nan")


@dataclass(frozen=True)
class Figure:
    """One row of a table in BENCHMARKS.md: a median, its peak memory and how to reproduce it."""

    benchmark: str
    size: str
    step: str
    median_seconds: float
    peak_rss_mib: float
    runs: int
    command: str
    note: str = ""
    # only where a benchmark measures them (staging): median CPU seconds, median load average
    cpu_seconds: float | None = None
    load_average: float | None = None


def measure(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Sample:
    """Run `cmd` under GNU time; fail loudly if it fails."""
    started = time.monotonic()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS=%M CPU=%U+%S", *cmd],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    match = re.search(r"MAXRSS=(\d+)", proc.stderr)
    cpu = re.search(r"CPU=([0-9.]+)\+([0-9.]+)", proc.stderr)
    return Sample(seconds, int(match.group(1)) / 1024 if match else float("nan"), proc.stdout,
                  float(cpu.group(1)) + float(cpu.group(2)) if cpu else float("nan"))


def load_average() -> float:
    """The 1-minute load average: how busy the machine was while a figure was taken."""
    return os.getloadavg()[0]


def machine() -> str:
    mem = "?"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({cpu}), {mem} RAM, Python {platform.python_version()}, {platform.system()}"
