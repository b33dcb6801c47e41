"""An strace audit: the temp is written and fsync'ed before the rename, the
directory fsync'ed after it, and nothing else is renamed or left."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import assert_only, require_tool

LINE = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")

CASES = {
    "text": "import atomic_write; atomic_write.atomic_write_text({t!r}, 'new')",
    "bytes": "import atomic_write; atomic_write.atomic_write_bytes({t!r}, b'new')",
    "memoryview": "import atomic_write; atomic_write.atomic_write_bytes({t!r}, memoryview(bytearray(b'new')))",
    "open": "import atomic_write\nwith atomic_write.open({t!r}, 'w') as f: f.write('new')",
    "mode": "import atomic_write, os; os.umask(0o022); atomic_write.atomic_write_text({t!r}, 'new', mode=0o666)",
}


def audit(log: str, directory: str, name: str) -> list[str]:
    """The steps of the write in order (write, fchmod, fsync-temp, rename,
    fsync-dir, close-temp), checking that the temp is created in the target's
    own directory and renamed within it."""
    fds: dict[int, str] = {}
    steps = []
    for line in log.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        call, args, ret = m.group(2), m.group(3), int(m.group(4))
        argv = [a.strip() for a in args.split(",")]
        fd = int(argv[0]) if argv[0].isdigit() else None
        if call == "openat" and ret >= 0:
            if "O_TMPFILE" in args or ("O_EXCL" in args and ".atomic-write-" in args):
                # Relative to a descriptor of the target's directory, not /tmp.
                assert fds.get(fd) == "dir", line
                fds[ret] = "temp"
            elif "O_DIRECTORY" in args and f'"{directory}"' in args:
                fds[ret] = "dir"
            else:
                fds[ret] = "other"
        elif (call == "dup" or (call == "fcntl" and "F_DUPFD" in args)) and ret >= 0:
            fds[ret] = fds.get(fd, "other")  # open() writes to a duplicate
        elif call == "close" and fd is not None:
            if fds.pop(fd, None) == "temp":
                steps.append("close-temp")
        elif call in ("write", "pwrite64", "writev") and fds.get(fd) == "temp":
            steps.append("write")
        elif call == "fchmod" and fds.get(fd) == "temp":
            steps.append("fchmod")
        elif call in ("fsync", "fdatasync"):
            steps.append(f"fsync-{fds.get(fd, 'other')}")
        elif call.startswith("rename"):
            assert ret == 0, line
            assert f'"{name}"' in args, line
            # renameat(dirfd, tmp, dirfd, name): both in the target's directory.
            assert fds.get(fd) == "dir" and fds.get(int(argv[2])) == "dir", line
            steps.append("rename")
    return steps


@pytest.mark.parametrize("case", sorted(CASES) + ["cli"])
def test_fsync_before_rename_and_directory_after(scratch, case):
    require_tool("strace")
    target = scratch / "target"
    target.write_text("old")
    before = os.stat(target).st_mode & 0o7777
    log = scratch.parent / f"{scratch.name}.strace"
    calls = "trace=openat,close,dup,fcntl,fchmod,write,pwrite64,writev,fsync,fdatasync,rename,renameat,renameat2"
    if case == "cli":
        argv = [sys.executable, "-m", "atomic_write", str(target)]
        stdin = b"new"
    else:
        argv = [sys.executable, "-c", CASES[case].format(t=str(target))]
        stdin = b""
    out = subprocess.run(
        ["strace", "-f", "-qq", "-e", calls, "-o", str(log), *argv], input=stdin, capture_output=True
    )
    assert out.returncode == 0, out.stderr.decode()
    steps = audit(log.read_text(), str(scratch), "target")
    log.unlink()
    assert target.read_text() == "new"
    assert_only(scratch, ["target"])
    # An explicit mode the umask (022 here) took from the temp is set on it
    # before its fsync and the rename. The CLI (the Rust one) writes what it
    # read from the pipe, as the library calls do.
    expected = {
        "mode": ["write", "fchmod", "fsync-temp", "rename", "fsync-dir"],
    }.get(case, ["write", "fsync-temp", "rename", "fsync-dir"])
    # A named temp is owner-only until the commit: its mode is always set, and
    # always before the fsync.
    assert all(i < steps.index("fsync-temp") for i, s in enumerate(steps) if s == "fchmod"), steps
    if case != "mode":
        steps = [s for s in steps if s != "fchmod"]
    assert [s for s in steps if s != "close-temp"] == expected, steps
    # The temp's data is synced before its (last) descriptor is closed.
    assert steps.index("fsync-temp") < len(steps) - 1 - steps[::-1].index("close-temp"), steps
    assert (os.stat(target).st_mode & 0o7777) == (0o666 if case == "mode" else before)
