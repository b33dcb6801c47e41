"""Errors that need root to set up: PermissionError as an unprivileged user
(setpriv), OSError(ENOSPC) on a small tmpfs. Run with ATOMIC_WRITE_FULL_SUITE=1;
under CI=true a missing privilege or tool fails."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import atomic_write

from conftest import assert_only, missing, require_full_suite, require_root, require_tool

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]

# Runs as user 65534: tries each write and reports the exception it got.
AS_NOBODY = r'''
import json, sys, atomic_write
results = []
for how, path in json.loads(sys.argv[1]):
    try:
        if how == "text":
            atomic_write.atomic_write_text(path, "new")
        elif how == "bytes":
            atomic_write.atomic_write_bytes(path, bytearray(b"new"))
        else:
            with atomic_write.open(path, "w") as f:
                f.write("new")
        results.append(None)
    except OSError as e:
        results.append([type(e).__name__, e.errno, e.filename, e.strerror])
print(json.dumps(results))
'''


@pytest.fixture
def nobody_dir():
    """A directory user 65534 can enter (not the 0700 pytest tmp dir)."""
    require_full_suite()
    require_root()
    require_tool("setpriv")
    probe = subprocess.run(NOBODY + [sys.executable, "-c", "import atomic_write"], capture_output=True)
    if probe.returncode != 0:
        missing(
            f"an interpreter and atomic_write that user 65534 can run ({sys.executable}: "
            f"{probe.stderr.decode().strip().splitlines()[-1:]}); use a venv outside /root"
        )
    d = tempfile.mkdtemp(prefix="aw-py-nobody-")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d)


def test_permission_error_as_an_unprivileged_user(nobody_dir):
    ro = os.path.join(nobody_dir, "ro")
    os.mkdir(ro, 0o755)  # root's, not writable by 65534
    existing = os.path.join(ro, "existing")
    with open(existing, "w") as f:
        f.write("old")
    os.chmod(existing, 0o666)  # the file is writable; its directory is not
    cases = [[how, path] for how in ("text", "bytes", "open") for path in (existing, os.path.join(ro, "new"))]
    out = subprocess.run(NOBODY + [sys.executable, "-c", AS_NOBODY, json.dumps(cases)], capture_output=True)
    assert out.returncode == 0, out.stderr.decode()
    for (how, path), result in zip(cases, json.loads(out.stdout)):
        assert result is not None, (how, path)
        name, code, filename, strerror = result
        assert (name, code, filename) == ("PermissionError", errno.EACCES, path), (how, result)
        assert "failed to create temporary file in" in strerror and "Permission denied" in strerror
    with open(existing) as f:
        assert f.read() == "old"
    assert os.stat(existing).st_mode & 0o7777 == 0o666
    assert_only(ro, ["existing"])


@pytest.fixture
def small_tmpfs():
    require_full_suite()
    require_root()
    require_tool("mount")
    d = tempfile.mkdtemp(prefix="aw-py-tmpfs-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "aw-py-test", d], check=True)
    try:
        yield d
    finally:
        if subprocess.run(["umount", d]).returncode != 0:
            subprocess.run(["umount", "-l", d])
        os.rmdir(d)


@pytest.mark.parametrize("how", ["text", "bytes", "memoryview", "open"])
def test_enospc_leaves_the_target_and_no_temp(small_tmpfs, how):
    target = os.path.join(small_tmpfs, "t")
    with open(target, "wb") as f:
        f.write(b"old")
    os.chmod(target, 0o640)
    big = b"x" * (1 << 20)
    with pytest.raises(OSError) as e:
        if how == "text":
            atomic_write.atomic_write_text(target, big.decode())
        elif how == "bytes":
            atomic_write.atomic_write_bytes(target, big)
        elif how == "memoryview":
            atomic_write.atomic_write_bytes(target, memoryview(bytearray(big)))
        else:
            with atomic_write.open(target, "wb") as f:
                f.write(big)
    assert type(e.value) is OSError
    assert e.value.errno == errno.ENOSPC
    if how != "open":  # open(): the error comes from the io module's write
        assert e.value.filename == target
        assert "failed to write temporary file for" in e.value.strerror
    with open(target, "rb") as f:
        assert f.read() == b"old"
    assert os.stat(target).st_mode & 0o7777 == 0o640
    assert_only(small_tmpfs, ["t"])
    # The space is back: the temp was freed.
    atomic_write.atomic_write_bytes(target, b"y" * (128 << 10))


def test_cli_enospc(small_tmpfs):
    target = os.path.join(small_tmpfs, "t")
    out = subprocess.run(
        [sys.executable, "-m", "atomic_write", target], input=b"x" * (1 << 20), capture_output=True
    )
    assert out.returncode == 1
    err = out.stderr.decode()
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err, err
    assert_only(small_tmpfs, [])


# Runs as user 65534: each write of "new" to its own target, with the keyword
# arguments given, and the exception it got (or None).
FORCE_AS_NOBODY = r'''
import json, sys, atomic_write
kw = json.loads(sys.argv[2])
results = []
for how, path in json.loads(sys.argv[1]):
    try:
        if how == "text":
            atomic_write.atomic_write_text(path, "new", **kw)
        elif how == "text-if-changed":
            atomic_write.atomic_write_text(path, "new", if_changed=True, **kw)
        elif how == "bytes":
            atomic_write.atomic_write_bytes(path, b"new", **kw)
        elif how == "bytearray":
            atomic_write.atomic_write_bytes(path, bytearray(b"new"), **kw)
        elif how == "open-w":
            with atomic_write.open(path, "w", **kw) as f:
                f.write("new")
        else:
            with atomic_write.open(path, "ab", **kw) as f:
                f.write(b"new")
        results.append(None)
    except OSError as e:
        results.append([type(e).__name__, e.errno, e.filename, e.strerror])
print(json.dumps(results))
'''
FORCE_CASES = ["text", "text-if-changed", "bytes", "bytearray", "open-w", "open-ab"]


def test_a_target_the_user_may_not_write_is_refused_unless_force(nobody_dir):
    # A directory user 65534 may write, holding root's 0644 files: the rename
    # could replace them, but `open(path, "w")` could not open them.
    own = os.path.join(nobody_dir, "own")
    os.mkdir(own, 0o755)
    os.chown(own, 65534, 65534)
    cases = []
    for how in FORCE_CASES:
        path = os.path.join(own, how)
        with open(path, "w") as f:
            f.write("old")
        os.chmod(path, 0o644)
        cases.append([how, path])
    # The built-in refuses it too (the reference).
    ref = subprocess.run(NOBODY + [sys.executable, "-c", "open(__import__('sys').argv[1], 'w')", cases[0][1]],
                         capture_output=True)
    assert ref.returncode != 0 and b"PermissionError" in ref.stderr

    def run(**kw):
        out = subprocess.run(NOBODY + [sys.executable, "-c", FORCE_AS_NOBODY, json.dumps(cases), json.dumps(kw)],
                             capture_output=True)
        assert out.returncode == 0, out.stderr.decode()
        return json.loads(out.stdout)

    for (how, path), result in zip(cases, run()):
        assert result is not None, how
        name, code, filename, strerror = result
        assert (name, code, filename) == ("PermissionError", errno.EACCES, path), (how, result)
        assert "refusing to replace" in strerror and "force" in strerror, (how, strerror)
        with open(path) as f:
            assert f.read() == "old", how
        st = os.stat(path)
        assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o644), how
    assert_only(own, FORCE_CASES)
    # force=False is the default, said explicitly.
    assert all(r is not None and r[0] == "PermissionError" for r in run(force=False))

    assert run(force=True) == [None] * len(cases)
    for how, path in cases:
        with open(path) as f:
            assert f.read() == ("oldnew" if how == "open-ab" else "new"), how
        # The new file is the writer's: it may not give it to root.
        assert os.stat(path).st_uid == 65534, how
    assert_only(own, FORCE_CASES)
