"""``python -m atomic_write PATH``."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import assert_only, require_full_suite

CLI = [sys.executable, "-m", "atomic_write"]


def run(args, data=b"", **kwargs):
    return subprocess.run(CLI + list(args), input=data, capture_output=True, **kwargs)


def test_stdin_with_nul_bytes(scratch):
    data = b"\x00abc\x00\xff\n\x00"
    out = run([str(scratch / "t")], data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == out.stderr == b""
    assert (scratch / "t").read_bytes() == data
    assert_only(scratch, ["t"])


def test_one_mib_replaces_keeping_the_mode(scratch):
    target = scratch / "t"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    data = os.urandom(1 << 20)
    out = run([str(target)], data)
    assert out.returncode == 0, out.stderr
    assert target.read_bytes() == data
    assert os.stat(target).st_mode & 0o7777 == 0o640
    assert_only(scratch, ["t"])


def test_empty_input_and_options(scratch):
    out = run(["-m", "600", "--no-sync", str(scratch / "t")], b"")
    assert out.returncode == 0, out.stderr
    assert (scratch / "t").read_bytes() == b""
    assert os.stat(scratch / "t").st_mode & 0o7777 == 0o600
    (scratch / "link").symlink_to("t")
    assert run(["--no-follow", str(scratch / "link")], b"own").returncode == 0
    assert not (scratch / "link").is_symlink()
    assert (scratch / "t").read_bytes() == b""


def test_seed_pipeline(scratch):
    out = subprocess.run(
        f"echo '{{\"version\": 2}}' | {sys.executable} -m atomic_write config.json",
        shell=True,
        cwd=scratch,
        capture_output=True,
    )
    assert out.returncode == 0, out.stderr
    assert (scratch / "config.json").read_text() == '{"version": 2}\n'


def test_error_exit_one_line_no_traceback(scratch):
    target = scratch / "t"
    target.write_bytes(b"old")
    for path in (scratch / "missing" / "t", scratch):
        out = run([str(path)], b"new")
        assert out.returncode == 1
        err = out.stderr.decode()
        assert "Traceback" not in err
        assert err.count("\n") == 1 and err.startswith("atomic_write: "), err
        assert str(path) in err
    assert "No such file or directory" in run([str(scratch / "missing" / "t")]).stderr.decode()
    assert target.read_bytes() == b"old"
    assert_only(scratch, ["t"])


def test_usage_errors_exit_two(scratch):
    for args in ([], ["a", "b"], ["-m", "9z", str(scratch / "t")], ["-m", "77777", str(scratch / "t")], ["--bogus", "x"]):
        out = run(args)
        assert out.returncode == 2, (args, out)
        assert b"Traceback" not in out.stderr and b"usage:" in out.stderr
    assert_only(scratch, [])
    out = run(["--help"])
    assert out.returncode == 0 and b"PATH" in out.stdout


def test_failing_input_commits_nothing(scratch):
    # Standard input that cannot be read (a directory): exit 1, target untouched.
    target = scratch / "t"
    target.write_bytes(b"old")
    fd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
    try:
        out = subprocess.run(CLI + [str(target)], stdin=fd, capture_output=True)
    finally:
        os.close(fd)
    assert out.returncode == 1
    assert b"Traceback" not in out.stderr
    assert target.read_bytes() == b"old"
    assert_only(scratch, ["t"])


def pipe_through_cli(target, chunk, count):
    """Pipes `count` x `chunk` into the CLI; returns (sha256, the child's peak RSS in KiB)."""
    child = subprocess.Popen(CLI + [str(target)], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    digest = hashlib.sha256()
    try:
        for _ in range(count):
            child.stdin.write(chunk)
            digest.update(chunk)
        child.stdin.close()
        # wait4: this child's own rusage, not every child's so far.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if child.returncode is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, child.stderr.read()
    return digest.digest(), usage.ru_maxrss


def test_one_gib_pipe_in_constant_memory(scratch):
    require_full_suite()
    chunk = bytes(range(256)) * 4096  # 1 MiB
    _, small_rss = pipe_through_cli(scratch / "small", chunk, 1)
    expected, big_rss = pipe_through_cli(scratch / "big", chunk, 1024)
    print(f"peak RSS of the CLI: {small_rss} KiB for 1 MiB, {big_rss} KiB for 1 GiB")
    # Constant memory: copying 1 GiB peaks within 8 MiB of copying 1 MiB.
    assert big_rss < small_rss + 8 * 1024, (small_rss, big_rss)
    assert os.path.getsize(scratch / "big") == 1 << 30
    got = hashlib.sha256()
    with open(scratch / "big", "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            got.update(block)
    assert got.digest() == expected
    assert_only(scratch, ["big", "small"])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE])
def test_interrupted_commits_nothing(scratch, sig):
    # A signal mid-input: the CLI dies by the signal (no KeyboardInterrupt
    # traceback), the target keeps its content, no temp is left (a named one
    # neither: run with ATOMIC_WRITE_NO_TMPFILE=1 too).
    target = scratch / "t"
    target.write_bytes(b"old")
    child = subprocess.Popen(CLI + [str(target)], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        child.stdin.write(b"partial new content" * 1000)
        child.stdin.flush()
        time.sleep(0.5)  # the CLI is copying, blocked on the open pipe
        child.send_signal(sig)
        assert child.wait(timeout=30) == -sig
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdin.close()
    assert b"Traceback" not in child.stderr.read()
    assert target.read_bytes() == b"old"
    assert_only(scratch, ["t"])
