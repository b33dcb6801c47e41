"""A write belongs to the process that started it (fork), and a signal
abandons it only before the rename (Ctrl-C during a long native write)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import assert_only


def run_child(code, *args, named):
    """Runs `code` in a fresh interpreter on one temp path: `named` sets
    ATOMIC_WRITE_NO_TMPFILE=1 (read once per process, so a child of its own)."""
    env = dict(os.environ)
    env.pop("ATOMIC_WRITE_NO_TMPFILE", None)
    if named:
        env["ATOMIC_WRITE_NO_TMPFILE"] = "1"
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


# What the forked child does with its copy of the parent's open file before
# it exits normally (finalizers and all).
CHILD_ACTIONS = {
    "exit": "pass",
    "close": "f.close()",
    "discard": "f.discard()",
    "del": "del f; import gc; gc.collect()",
    "with-exception": "raise SystemExit(0)",
    "write-then-exit": "f.write('child')",
}

FORK = """
    import os, sys, atomic_write
    target, action, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    with atomic_write.open(target, mode) as f:
        f.write("parent, before the fork; " if "b" not in mode else b"parent, before the fork; ")
        pid = os.fork()
        if pid == 0:
            try:
                if action == "write-then-exit":
                    try:
                        f.write("child" if "b" not in mode else b"child")
                    except ValueError as e:  # the child's copy is closed
                        print("child:", e, file=sys.stderr)
                else:
                    exec(sys.argv[4])
            finally:
                sys.stdout.flush()
            sys.exit(0)  # a normal exit: atexit, finalizers, garbage collection
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        f.write("and after it" if "b" not in mode else b"and after it")
    print("committed")
"""


@pytest.mark.parametrize("mode", ["w", "wb", "w+b"])
@pytest.mark.parametrize("action", sorted(CHILD_ACTIONS))
@pytest.mark.parametrize("named", [False, True], ids=["O_TMPFILE", "named-temp"])
def test_forked_child_leaves_the_parents_write(scratch, named, action, mode):
    # Before: on the named-temp path the child unlinked the parent's temp (its
    # commit then failed with FileNotFoundError); on the O_TMPFILE path the
    # child's close flushed its copy of the buffer into the shared temp (the
    # content doubled).
    target = scratch / "t"
    target.write_text("old")
    out = run_child(FORK, target, action, mode, CHILD_ACTIONS[action], named=named)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "committed\n", out.stderr
    # The child neither warned nor failed (-X dev shows ResourceWarnings).
    assert "Warning" not in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert target.read_text() == "parent, before the fork; and after it"
    assert_only(scratch, ["t"])


@pytest.mark.parametrize("named", [False, True], ids=["O_TMPFILE", "named-temp"])
def test_forked_child_cannot_commit_the_parents_write(scratch, named):
    code = """
        import os, sys, atomic_write
        f = atomic_write.open(sys.argv[1], "w")
        f.write("parent")
        pid = os.fork()
        if pid == 0:
            try:
                f.commit()
            except ValueError as e:
                os._exit(0 if "belongs to process" in str(e) else 1)
            os._exit(2)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        f.close()
    """
    out = run_child(code, scratch / "t", named=named)
    assert out.returncode == 0, out.stderr
    assert (scratch / "t").read_text() == "parent"
    assert_only(scratch, ["t"])


# SIGINT from a watcher thread once the write is under way (its temp holds
# part of the data): the main thread is then inside the native write.
INTERRUPT = """
    import os, signal, sys, threading, time, atomic_write
    target, how, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    dir = os.path.dirname(target)
    seen = []

    def temp_size():
        for fd in os.listdir("/proc/self/fd"):
            try:
                link = os.readlink(f"/proc/self/fd/{fd}")
                if link.startswith(dir + "/") and not link.endswith("/t"):
                    return os.stat(f"/proc/self/fd/{fd}").st_size
            except OSError:
                pass
        return None

    def watch():
        while True:
            n = temp_size()
            if n:
                seen.append(n)
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.0005)

    data = b"x" * size
    if how == "text":
        data = data.decode()
    elif how == "bytearray":
        data = bytearray(data)
    threading.Thread(target=watch, daemon=True).start()
    try:
        if how == "text":
            atomic_write.atomic_write_text(target, data)
        else:
            atomic_write.atomic_write_bytes(target, data)
    except KeyboardInterrupt:
        print("interrupted", seen[0])
    else:
        print("completed", seen[0] if seen else 0)
"""


@pytest.mark.parametrize("named", [False, True], ids=["O_TMPFILE", "named-temp"])
@pytest.mark.parametrize("how", ["bytes", "text", "bytearray"])
def test_sigint_during_a_long_write_commits_nothing(scratch, how, named):
    # Before: the native write ran to its end, committed, and only then was
    # KeyboardInterrupt raised: the file was replaced by an "interrupted" write.
    target = scratch / "t"
    size = 256 << 20
    for attempt in range(3):
        target.write_bytes(b"old")
        out = run_child(INTERRUPT, target, how, size, named=named)
        assert out.returncode == 0, out.stderr
        verdict, seen = out.stdout.split()
        if int(seen) < size:
            break  # the signal came while the temp was being written
        # The watcher was too slow to see the write under way: try again.
    else:
        pytest.fail(f"the signal never arrived during the write: {out.stdout}")
    assert verdict == "interrupted", out.stdout
    assert target.read_bytes() == b"old"
    assert_only(scratch, ["t"])
