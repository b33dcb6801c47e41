"""Helpers shared by the tests: scratch directories, residue checks, and the
prerequisite checks that fail under ``CI=true`` instead of skipping."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

# The shape of this library's named temps (`.NAME.atomic-write-<16 hex>.tmp`).
TEMP_NAME = re.compile(r"^\..*\.atomic-write-[0-9a-f]{16}\.tmp$")


def in_ci() -> bool:
    return os.environ.get("CI") in ("true", "1")


def full_suite() -> bool:
    return os.environ.get("ATOMIC_WRITE_FULL_SUITE", "0") not in ("", "0")


def missing(what: str) -> None:
    """Skip, or under CI=true fail, because `what` is missing."""
    if in_ci():
        pytest.fail(f"this test needs {what}, which is missing (CI=true: failing instead of skipping)")
    pytest.skip(f"this test needs {what}")


def require_root() -> None:
    if os.geteuid() != 0:
        missing("root privileges")


def require_tool(tool: str) -> None:
    if shutil.which(tool) is None:
        missing(f"the tool {tool!r}")


def require_full_suite() -> None:
    """Long or privileged tests run with ATOMIC_WRITE_FULL_SUITE=1, as the Rust suites."""
    if not full_suite():
        pytest.skip("set ATOMIC_WRITE_FULL_SUITE=1 to run the long and privileged tests")


def entries(path) -> list[str]:
    return sorted(os.listdir(path))


def visible(path) -> list[str]:
    """The names in a directory but this library's named temps (which exist
    while writing where O_TMPFILE is unavailable, or ATOMIC_WRITE_NO_TMPFILE=1)."""
    return sorted(n for n in os.listdir(path) if not TEMP_NAME.match(n))


def assert_only(path, expected) -> None:
    """The directory holds exactly `expected` (so no temp file is left)."""
    names = entries(path)
    assert names == sorted(expected), f"{path}: {names}"
    assert not [n for n in names if TEMP_NAME.match(n)]


def run_python(code: str, *args, **kwargs) -> subprocess.CompletedProcess:
    """Runs `code` in a child interpreter (the one running the tests)."""
    kwargs.setdefault("capture_output", True)
    return subprocess.run([sys.executable, "-c", code, *args], **kwargs)


@pytest.fixture
def scratch(tmp_path):
    """A fresh directory on the disk the tests run on (`tmp_path`)."""
    return tmp_path
