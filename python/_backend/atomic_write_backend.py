"""The PEP 517 build backend of the atomic-write Python package: maturin's, set up
so that a plain ``pip wheel ./python`` (or ``pip install ./python``) makes the
wheel a package index would carry.

What it changes in maturin's backend (``pyproject.toml``'s ``[tool.maturin]``
holds the rest, e.g. ``strip = true``):

- **A manylinux wheel.** maturin's PEP 517 hooks build with ``--compatibility
  off`` (a ``linux_x86_64`` wheel, which no index accepts) unless they are given
  build arguments. On glibc Linux (x86_64, aarch64) this backend passes
  ``--compatibility manylinux2014 --zig --auditwheel check``: zig (the
  ``ziglang`` package from PyPI, requested as a build requirement by
  ``get_requires_for_build_wheel``) links against glibc 2.17's symbol versions
  whatever the build machine's glibc, and maturin's auditwheel check fails the
  build if the result is not manylinux2014-compliant. Build arguments of your
  own (``-C maturin.build-args="…"`` or ``MATURIN_PEP517_ARGS``) that choose a
  platform (``--compatibility``/``--manylinux``) replace these.
- **No silent toolchain download.** Without ``cargo`` on PATH, maturin's hooks
  fetch and install a whole Rust toolchain (hundreds of MB) into a temporary
  directory. This backend fails instead, before any other download, saying what
  to install (Rust) or what to use instead (a built wheel).
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from typing import Any, Mapping

# Before maturin's hooks look at it: never install a Rust toolchain (puccinialin).
os.environ["MATURIN_NO_INSTALL_RUST"] = "1"

import maturin  # noqa: E402
from maturin import build_sdist, get_requires_for_build_sdist  # noqa: E402,F401
from maturin import prepare_metadata_for_build_editable  # noqa: E402,F401
from maturin import build_editable, get_requires_for_build_editable  # noqa: E402,F401

# The zig the wheel is built and tested with (see python/README.md, "Install").
ZIGLANG = "ziglang==0.17.1"
MANYLINUX = "manylinux2014"
PLATFORM_ARGS = ("--compatibility", "--manylinux")

NO_RUST = """
atomic-write: building the Python package from source needs Rust: `cargo` (Rust >= 1.85)
is not on PATH. This build backend does not download a toolchain by itself.
Either install Rust (https://rustup.rs, or your system's `cargo` package) and run pip
again, or install a built wheel instead of the source tree:
    pip install atomic_write-<version>-cp311-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
(`pip wheel ./python` on a machine with Rust makes that wheel; it needs no Rust to install.)
"""


def _require_cargo() -> None:
    if shutil.which("cargo") is None:
        sys.stderr.write(NO_RUST)
        raise SystemExit(1)


def _user_args(config_settings: Mapping[str, Any] | None) -> list[str]:
    return list(maturin.get_maturin_pep517_args(config_settings))


def _manylinux_by_zig(config_settings: Mapping[str, Any] | None) -> bool:
    """Whether this build is the zig-linked manylinux one: glibc Linux on a
    machine ziglang has wheels for, and no platform chosen by the user."""
    if any(a.split("=")[0] in PLATFORM_ARGS for a in _user_args(config_settings)):
        return False
    return (
        sys.platform.startswith("linux")
        and platform.libc_ver()[0] == "glibc"
        and platform.machine() in ("x86_64", "aarch64")
    )


def get_requires_for_build_wheel(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    _require_cargo()
    requires = list(maturin.get_requires_for_build_wheel(config_settings))
    if _manylinux_by_zig(config_settings):
        requires.append(ZIGLANG)
    return requires


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: Mapping[str, Any] | None = None
) -> str:
    _require_cargo()
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_wheel(
    wheel_directory: str,
    config_settings: Mapping[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    _require_cargo()
    if _manylinux_by_zig(config_settings):
        args = ["--compatibility", MANYLINUX, "--zig", "--auditwheel", "check", *_user_args(config_settings)]
        config_settings = {**(config_settings or {}), "maturin.build-args": args}
        # cargo-zigbuild runs `python3 -m ziglang` by default: make it this
        # interpreter, the one whose build environment has ziglang.
        os.environ.setdefault("CARGO_ZIGBUILD_PYTHON_PATH", sys.executable)
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)
