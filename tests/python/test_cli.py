"""The `syncgov` entry point itself: help, version, and usage errors as one line."""

from __future__ import annotations

import subprocess
import sys


def _syncgov(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from governance.cli import run; run()", *args],
                          capture_output=True, text=True, check=False)


def test_no_command_prints_the_help_not_an_error() -> None:
    out = _syncgov()
    assert out.returncode == 2
    assert out.stderr.startswith("Usage: syncgov [OPTIONS] COMMAND")
    assert "error" not in out.stderr.splitlines()[0]
    assert "lint" in out.stderr
    assert "simulate" in out.stderr


def test_unknown_command_is_one_line_and_exit_2() -> None:
    out = _syncgov("lintt")
    assert out.returncode == 2
    assert out.stderr.startswith("syncgov: error: No such command 'lintt'")
    assert "Traceback" not in out.stderr


def test_version() -> None:
    out = _syncgov("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("syncgov, version ")
