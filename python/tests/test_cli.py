"""``python -m atomic_write`` and the ``atomic-write`` script: the Rust CLI's
own code, run by the extension (options, messages and exit statuses as the
binary's)."""

from __future__ import annotations

import hashlib
import os
import platform
import signal
import subprocess
import sys
import time

import pytest

from conftest import assert_only, missing, require_full_suite

CLI = [sys.executable, "-m", "atomic_write"]
SCRIPT = os.path.join(os.path.dirname(sys.executable), "atomic-write")


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
        # The Rust CLI's line: atomic-write: "PATH": what failed: why
        assert err.count("\n") == 1 and err.startswith(f'atomic-write: "{path}": '), err
    assert "No such file or directory" in run([str(scratch / "missing" / "t")]).stderr.decode()
    assert target.read_bytes() == b"old"
    assert_only(scratch, ["t"])


def test_usage_errors_exit_two(scratch):
    for args in ([], ["a", "b"], ["-m", "9z", str(scratch / "t")], ["-m", "77777", str(scratch / "t")], ["--bogus", "x"]):
        out = run(args)
        assert out.returncode == 2, (args, out)
        assert b"Traceback" not in out.stderr and out.stderr.startswith(b"error: "), out.stderr
    assert_only(scratch, [])
    out = run(["--help"])
    assert out.returncode == 0 and b"Usage: atomic-write [OPTIONS] <PATH> [-- <COMMAND>...]" in out.stdout


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(
    "mode, expected",
    [("644", 0o644), ("0o644", 0o644), ("7777", 0o7777), ("0", 0), ("u=rw,go=r", 0o644), ("a=rwx", 0o777),
     # Symbolic as chmod: applied to a new file's mode (0666 less the umask).
     ("+644", lambda new: new | 0o644), ("-1", lambda new: new & ~0o001), ("u+x", lambda new: new | 0o100),
     (" +7_7_7 ", None), ("7_7_7", None), ("10000", None), ("", None), ("0x1ff", None), ("8", None)],
)
def test_mode_parsing_as_the_rust_cli(scratch, mode, expected):
    # Octal digits after an optional 0o, at most 7777, or chmod's symbolic
    # modes; before, int(x, 8) took spaces and underscores (" +7_7_7 " was 0o777).
    out = run([f"--mode={mode}", str(scratch / "t")], b"x")
    if expected is not None:
        assert out.returncode == 0, out.stderr
        if callable(expected):
            expected = expected(0o666 & ~_umask())
        assert os.stat(scratch / "t").st_mode & 0o7777 == expected
    else:
        assert out.returncode == 2, out
        assert b"is not a mode: octal (644, at most 7777), or symbolic as chmod takes it" in out.stderr
        assert_only(scratch, [])


def test_closed_stdin_is_refused(scratch):
    # `python -m atomic_write f <&-`: as the binary says, not "Is a directory".
    out = subprocess.run(
        f'exec "{sys.executable}" -m atomic_write f <&-', shell=True, cwd=scratch, capture_output=True
    )
    assert out.returncode == 1
    assert out.stderr == b'atomic-write: "f": failed to read standard input: it is closed\n'
    assert_only(scratch, [])


def test_the_rust_cli_options(scratch):
    # What the Python CLI lacked: -n, --backup, -p, --if-changed, --version, -- COMMAND.
    target = scratch / "t"
    assert run([str(target)], b"v1").returncode == 0
    out = run(["-n", str(target)], b"v2")
    assert out.returncode == 1 and b"File exists" in out.stderr
    assert run(["--backup", str(target)], b"v2").returncode == 0
    assert (scratch / "t~").read_bytes() == b"v1"
    assert run(["-p", str(scratch / "a" / "b")], b"deep").returncode == 0
    assert (scratch / "a" / "b").read_bytes() == b"deep"
    out = run(["--if-changed", "--print-changed", str(target)], b"v2")
    assert (out.returncode, out.stdout) == (0, b"unchanged\n")
    out = run(["-a", str(target)], b"+")
    assert out.returncode == 0 and target.read_bytes() == b"v2+"
    out = run(["--version"])
    assert out.returncode == 0 and out.stdout.startswith(b"atomic-write ")
    out = run([str(scratch / "cmd"), "--", "sh", "-c", "echo from the command"])
    assert out.returncode == 0 and (scratch / "cmd").read_bytes() == b"from the command\n"
    out = run([str(scratch / "cmd"), "--", "sh", "-c", "echo half; exit 3"])
    assert out.returncode == 3 and (scratch / "cmd").read_bytes() == b"from the command\n"
    out = run(["--sweep", str(scratch)])
    assert out.returncode == 0
    assert_only(scratch, ["a", "cmd", "t", "t~"])


def test_console_script_is_the_same_program(scratch):
    # pip installs `atomic-write` (pyproject's [project.scripts]) beside the interpreter.
    assert os.access(SCRIPT, os.X_OK), f"{SCRIPT} is not installed"
    out = subprocess.run([SCRIPT, str(scratch / "t")], input=b"data", capture_output=True)
    assert out.returncode == 0, out.stderr
    assert (scratch / "t").read_bytes() == b"data"
    for args in (["--help"], ["--version"], ["-m", "9", "x"], []):
        ours = subprocess.run([SCRIPT, *args], capture_output=True)
        module = run(args)
        assert (ours.returncode, ours.stdout, ours.stderr) == (module.returncode, module.stdout, module.stderr)


def test_unreadable_input_commits_nothing(scratch):
    # Standard input open for writing only: the binary's refusal, nothing created.
    target = scratch / "t"
    target.write_bytes(b"old")
    fd = os.open(scratch / "out", os.O_WRONLY | os.O_CREAT)
    try:
        out = subprocess.run(CLI + [str(target)], stdin=fd, capture_output=True)
    finally:
        os.close(fd)
    assert out.returncode == 1
    assert out.stderr == f'atomic-write: "{target}": failed to read standard input (open for writing only): Bad file descriptor (os error 9)\n'.encode()
    assert target.read_bytes() == b"old"
    assert_only(scratch, ["out", "t"])


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
    err = child.stderr.read()
    child.stderr.close()
    assert child.returncode == 0, err
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
        # The CLI is copying (its temp exists: its signal handling is set up),
        # blocked on the open pipe.
        deadline = time.monotonic() + 60
        while temp_size(child.pid, scratch) is None:
            assert child.poll() is None and time.monotonic() < deadline, child.stderr.read()
            time.sleep(0.01)
        child.send_signal(sig)
        assert child.wait(timeout=30) == -sig
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdin.close()
    err = child.stderr.read()
    child.stderr.close()
    assert b"Traceback" not in err
    assert target.read_bytes() == b"old"
    assert_only(scratch, ["t"])


def temp_size(pid, directory):
    """The size of the temp file process `pid` has open in `directory`, or None."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith(f"{directory}/") and not link.endswith("/t"):
                return os.stat(f"/proc/{pid}/fd/{fd}").st_size
        except OSError:
            pass
    return None


# fsync(2)'s number, to see a process blocked in it (/proc/PID/syscall).
FSYNC = {"x86_64": 74, "aarch64": 82, "riscv64": 82, "i686": 118, "armv7l": 118}.get(platform.machine())


def in_fsync(pid):
    try:
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split(" ", 1)[0] == str(FSYNC)
    except OSError:
        return False


def test_signal_during_the_commit_is_not_a_failure(scratch, tmp_path_factory):
    # SIGINT while the CLI is committing (all input in the temp, the process
    # blocked in fsync): the commit goes on, the status is 0. Before, the
    # Python CLI committed and then died of the signal (exit 130 / -2).
    if FSYNC is None:
        missing(f"fsync's syscall number on {platform.machine()}")
    size = 128 << 20
    source = tmp_path_factory.mktemp("input") / "big"
    with open(source, "wb") as f:
        f.truncate(size)
    target = scratch / "t"
    outcomes = []
    for attempt in range(5):
        target.write_bytes(b"old")
        with open(source, "rb") as stdin:
            child = subprocess.Popen(CLI + [str(target)], stdin=stdin, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while not (temp_size(child.pid, scratch) == size and in_fsync(child.pid)):
                if child.poll() is not None:
                    break
                assert time.monotonic() < deadline, "the CLI never reached its commit"
                time.sleep(0.0002)
            if child.poll() is not None:
                outcomes.append("done before the signal")
                child.stderr.close()
                continue
            child.send_signal(signal.SIGINT)
            status = child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        err = child.stderr.read()
        child.stderr.close()
        assert (status, os.path.getsize(target)) == (0, size), err
        assert err == b""
        assert_only(scratch, ["t"])
        break
    else:
        pytest.fail(f"the CLI was never seen committing: {outcomes}")
