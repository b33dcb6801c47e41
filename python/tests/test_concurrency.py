"""Concurrent writers (threads and processes) with validating readers, and
the GIL released while the disk works."""

from __future__ import annotations

import datetime
import errno
import json
import os
import platform
import subprocess
import sys
import threading
import time
import zlib

import pytest

import atomic_write

from conftest import assert_only, require_tool

# A version is self-validating: "AW <writer> <seq> <length> <crc32>\n" + payload.
VERSION_CODE = r'''
import os, zlib

def version(writer, seq):
    payload = (b"%d-%d|" % (writer, seq)) * (50 + (writer * 131 + seq * 17) % 3000)
    return b"AW %d %d %d %d\n" % (writer, seq, len(payload), zlib.crc32(payload)) + payload

def check(data):
    head, sep, payload = data.partition(b"\n")
    fields = head.split(b" ")
    assert sep and fields[0] == b"AW" and len(fields) == 5, data[:80]
    writer, seq, length, crc = (int(f) for f in fields[1:])
    assert len(payload) == length and zlib.crc32(payload) == crc, (writer, seq)
    assert payload == (b"%d-%d|" % (writer, seq)) * (len(payload) // len(b"%d-%d|" % (writer, seq))), (writer, seq)
    return writer, seq
'''
exec(VERSION_CODE)  # defines version() and check() here too

WRITER_PROCESS = VERSION_CODE + r'''
import sys, atomic_write
path, writer, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for seq in range(count):
    if seq % 2:
        atomic_write.atomic_write_bytes(path, version(writer, seq))
    else:
        atomic_write.atomic_write_text(path, version(writer, seq).decode("latin-1"), encoding="latin-1")
'''

READER_PROCESS = VERSION_CODE + r'''
import sys
path, stop = sys.argv[1], sys.argv[2]
reads = 0
while not os.path.exists(stop):
    with open(path, "rb") as f:
        check(f.read())
    reads += 1
print(reads)
'''


def test_threads_and_processes_readers_never_see_a_mix(scratch):
    target = scratch / "shared"
    stop = scratch.parent / (scratch.name + ".stop")
    atomic_write.atomic_write_bytes(target, version(0, 0))
    writes_per_thread, writes_per_process = 40, 40
    errors = []
    reads = [0]
    done = threading.Event()

    def thread_writer(writer):
        try:
            for seq in range(writes_per_thread):
                data = version(writer, seq)
                if seq % 3 == 0:
                    atomic_write.atomic_write_bytes(target, data)
                elif seq % 3 == 1:
                    atomic_write.atomic_write_bytes(target, memoryview(bytearray(data)))
                else:
                    with atomic_write.open(target, "wb") as f:
                        f.write(data[:100])
                        f.write(data[100:])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def thread_reader():
        try:
            while not done.is_set():
                check(target.read_bytes())
                reads[0] += 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    readers = [
        subprocess.Popen([sys.executable, "-c", READER_PROCESS, str(target), str(stop)], stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER_PROCESS, str(target), str(100 + i), str(writes_per_process)])
        for i in range(4)
    ]
    threads = [threading.Thread(target=thread_writer, args=(1 + i,)) for i in range(8)]
    threads += [threading.Thread(target=thread_reader) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for p in procs:
            assert p.wait(timeout=300) == 0
        for t in threads[:8]:
            t.join()
    finally:
        done.set()
        stop.write_text("")
        for t in threads:
            t.join()
        for p in procs + readers:
            if p.poll() is None and p not in readers:
                p.kill()
        process_reads = [int(r.communicate(timeout=60)[0] or 0) for r in readers]
        stop.unlink()
    print(f"{reads[0]} reads in threads, {process_reads} in processes, all whole versions")
    assert not errors, errors
    assert [r.returncode for r in readers] == [0, 0]
    assert reads[0] > 0 and all(n > 0 for n in process_reads), (reads, process_reads)
    writer, seq = check(target.read_bytes())
    assert (writer in range(1, 9) and seq == writes_per_thread - 1) or (
        writer in range(100, 104) and seq == writes_per_process - 1
    ), (writer, seq)
    assert_only(scratch, ["shared"])


# The GIL test's child, run under strace, which holds each of the writer
# thread's write, fsync, fdatasync, rename and link calls at its entry for
# DELAY_US: a write made slow the same way on any machine. The main thread
# meanwhile reads, from Python, which call the writer thread is in
# (/proc/self/task/TID/syscall, read with pread: a call strace does not delay),
# noting each reading under the step the writer thread had reached.
GIL_CHILD = r"""
import json, os, sys, threading, time, atomic_write
target, size = sys.argv[1], int(sys.argv[2])
step = ["start"]
tid = []

def writer():
    tid.append(threading.get_native_id())
    step[0] = "write_bytes"
    atomic_write.atomic_write_bytes(target, b"x" * size)
    f = atomic_write.open(target, "wb")
    f.write(b"y")
    step[0] = "close"
    f.close()
    step[0] = "done"

t = threading.Thread(target=writer)
t.start()
while not tid:
    time.sleep(0.001)
fd = os.open(f"/proc/self/task/{tid[0]}/syscall", os.O_RDONLY)
seen = {}
while step[0] != "done":
    at = step[0]
    try:
        nr = os.pread(fd, 64, 0).split(b" ", 1)[0].decode()
    except OSError:
        break  # the thread has ended
    seen.setdefault(at, {}).setdefault(nr, 0)
    seen[at][nr] += 1
    time.sleep(0.001)
t.join()
print(json.dumps(seen))
"""

# System call numbers (x86_64, aarch64) of the steps the test watches.
SYSCALLS = {
    "x86_64": {"write": [1], "fdatasync": [75], "commit": [74, 82, 264, 265, 316]},
    "aarch64": {"write": [64], "fdatasync": [83], "commit": [82, 37, 38, 276]},
}
DELAY_US = 200_000
CHUNK = 8 << 20  # python/src/lib.rs: a write takes the GIL back between chunks


def test_gil_is_released_while_writing(scratch):
    """Another thread runs Python while a write is inside each of its blocking
    steps: the data's `write`s, the `fdatasync` a long write makes before the
    commit, and the commit's `fsync`s and rename (`atomic_write_bytes`, and
    `close()` of `atomic_write.open`).

    strace holds each of those calls for 0.2 s, so the steps are slow by
    construction, not by the disk's speed or the machine's load. The main
    thread notes, from Python, which call the writer thread is in. It needs
    the GIL to go from one reading to the next, so if the writer thread held
    the GIL through a step, the main thread could make at most one reading
    during that step (the one whose `pread` had already begun): the test asks
    for at least two in each. With the GIL held through a step (its
    `Python::detach` removed in python/src/lib.rs) it fails on that step with
    at most one reading; on a loaded machine the main thread still makes
    dozens, one every millisecond or so.
    """
    require_tool("strace")

    nrs = SYSCALLS.get(platform.machine())
    if nrs is None:
        pytest.fail(f"no system call numbers for {platform.machine()} in SYSCALLS")
    target = scratch / "target"
    size = CHUNK + 1  # two chunks, and the early fdatasync of a long write
    delayed = "write,fsync,fdatasync,rename,renameat,renameat2,linkat"
    out = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            f"trace={delayed}",
            "-e",
            f"inject={delayed}:delay_enter={DELAY_US}",
            sys.executable,
            "-c",
            GIL_CHILD,
            str(target),
            str(size),
        ],
        capture_output=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode()
    seen = json.loads(out.stdout)
    print(f"readings of the writer thread's system call, by step: {seen}")

    def readings(at: str, step: str) -> int:
        return sum(n for nr, n in seen.get(at, {}).items() if nr in map(str, nrs[step]))

    counts = {
        "atomic_write_bytes: write": readings("write_bytes", "write"),
        "atomic_write_bytes: fdatasync": readings("write_bytes", "fdatasync"),
        "atomic_write_bytes: commit": readings("write_bytes", "commit"),
        "atomic_write.open: close": readings("close", "commit"),
    }
    held = [step for step, n in counts.items() if n < 2]
    assert not held, f"the GIL looks held through {held}: readings {counts}, all {seen}"
    assert target.read_bytes() == b"y"
    assert_only(scratch, ["target"])


# -- lock_timeout: another writer holds the target's lock -----------------------


def _held(target):
    """An exclusive flock on `target` (as another appender or backup writer
    holds it), on an open file description of its own."""
    import fcntl

    fd = os.open(target, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@pytest.mark.parametrize("how", ["open-a", "open-ab", "text-backup", "bytes-backup", "open-w-backup"])
def test_lock_timeout_gives_up_after_that_long(scratch, how):
    target = scratch / "log"
    target.write_text("old\n")
    fd = _held(target)
    try:
        start = time.monotonic()
        with pytest.raises(BlockingIOError) as e:
            if how == "open-a":
                with atomic_write.open(target, "a", lock_timeout=0.2) as f:
                    f.write("new\n")
            elif how == "open-ab":
                with atomic_write.open(target, "ab", lock_timeout=datetime.timedelta(milliseconds=200)) as b:
                    b.write(b"new\n")
            elif how == "text-backup":
                atomic_write.atomic_write_text(target, "new\n", backup=True, lock_timeout=0.2)
            elif how == "bytes-backup":
                atomic_write.atomic_write_bytes(target, bytearray(b"new\n"), backup=".bak", lock_timeout=0.2)
            else:
                with atomic_write.open(target, "w", backup="numbered", lock_timeout=0.2) as f:
                    f.write("new\n")
        took = time.monotonic() - start
    finally:
        os.close(fd)
    assert e.value.errno == errno.EAGAIN == errno.EWOULDBLOCK
    assert e.value.filename == os.fspath(target)
    # Waited for about the timeout: not at once, and far from the default 10 s.
    assert 0.15 <= took < 3, took
    assert target.read_text() == "old\n"
    assert_only(scratch, ["log"])


def test_lock_timeout_zero_does_not_wait_and_the_lock_released_lets_it_through(scratch):
    target = scratch / "log"
    target.write_text("old\n")
    fd = _held(target)
    try:
        start = time.monotonic()
        with pytest.raises(BlockingIOError):
            atomic_write.open(target, "a", lock_timeout=0)
        assert time.monotonic() - start < 0.15
        # Released while the writer waits: it goes on.
        threading.Timer(0.2, os.close, (fd,)).start()
        fd = None
        with atomic_write.open(target, "a", lock_timeout=5) as f:
            f.write("new\n")
    finally:
        if fd is not None:
            os.close(fd)
    assert target.read_text() == "old\nnew\n"
    # No lock held: a write without backup or append never waits for one.
    fd = _held(target)
    try:
        atomic_write.atomic_write_text(target, "plain\n", lock_timeout=0)
    finally:
        os.close(fd)
    assert target.read_text() == "plain\n"
    assert_only(scratch, ["log"])


def test_appending_twice_in_one_thread_fails_at_once_another_thread_waits(scratch):
    target = scratch / "log"
    target.write_text("old\n")
    first = atomic_write.open(target, "a", lock_timeout=5)
    first.write("first\n")
    start = time.monotonic()
    with pytest.raises(BlockingIOError):
        atomic_write.open(target, "a", lock_timeout=5)
    assert time.monotonic() - start < 1
    # Another thread waits for the first to be committed, then appends.
    done = []

    def second():
        with atomic_write.open(target, "a", lock_timeout=5) as f:
            f.write("second\n")
        done.append(True)

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.2)
    assert not done
    first.close()
    t.join(10)
    assert done and target.read_text() == "old\nfirst\nsecond\n"
    assert_only(scratch, ["log"])
