"""``python -m atomic_write PATH``: replace PATH atomically with standard input.

Reads standard input to its end as bytes and replaces PATH through the
library, in constant memory whatever the size (``copy_file_range`` from a
file, ``splice`` from a pipe where Python has it, else 1 MiB reads).  Exit
status 0 on success; 1 on an I/O failure, with one line on stderr naming the
step and the path; 2 on a usage error.  On SIGINT, SIGTERM, SIGHUP or SIGPIPE
before the commit it commits nothing, removes its temp file, and dies by the
signal.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import stat
import sys

from . import _native

PROG = "python -m atomic_write"
CHUNK = 1 << 20
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE)


class _Interrupted(BaseException):
    """A terminating signal arrived: discard, then die by it."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum, frame):
    raise _Interrupted(signum)


def _copy(src, dst):
    """Copies `src` to its end into `dst` in constant memory.  Each call below
    releases the GIL and is retried on EINTR unless a signal handler raises."""
    if stat.S_ISREG(os.fstat(src).st_mode):
        try:
            while os.copy_file_range(src, dst, 1 << 30):
                pass
            return
        except OSError as e:
            # Not on this kernel or between these filesystems: copy by hand.
            if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
    splice = getattr(os, "splice", None)  # Python >= 3.10
    if splice is not None and stat.S_ISFIFO(os.fstat(src).st_mode):
        while splice(src, dst, CHUNK):
            pass
        return
    while True:
        data = os.read(src, CHUNK)
        if not data:
            return
        view = memoryview(data)
        while view:
            view = view[os.write(dst, view) :]


def _octal(text):
    try:
        mode = int(text, 8)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid octal mode {text!r}") from None
    if not 0 <= mode <= 0o7777:
        raise argparse.ArgumentTypeError(f"mode {text!r} is out of range (0 to 7777)")
    return mode


def _write_stdin(args):
    native = None
    try:
        native = _native.create(args.path, args.mode, not args.no_sync, not args.no_follow, False, False)
        try:
            _copy(0, native.fileno())
        except OSError as e:
            raise OSError(e.errno, f"failed to copy standard input to the temporary file: {e.strerror}") from None
    except BaseException:
        # An I/O error or a signal before the commit: the temp goes (a named
        # one too, on filesystems without O_TMPFILE), the target is untouched.
        if native is not None:
            try:
                native.discard()
            except OSError:
                pass
        raise
    native.commit()


def main(argv=None):
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Replace PATH atomically and durably with standard input.",
    )
    parser.add_argument("path", metavar="PATH", help="the file to replace")
    parser.add_argument(
        "-m", "--mode", type=_octal, help="exact permission bits, in octal (default: keep the existing file's)"
    )
    parser.add_argument(
        "--no-sync", action="store_true", help="skip fsync: atomic, not durable across power loss"
    )
    parser.add_argument(
        "--no-follow", action="store_true", help="replace a symlink at PATH itself, not its target"
    )
    args = parser.parse_args(argv)
    for sig in SIGNALS:
        signal.signal(sig, _raise_interrupted)
    try:
        _write_stdin(args)
    except _Interrupted as e:
        # Nothing committed and the temp removed: now die by the signal.
        signal.signal(e.signum, signal.SIG_DFL)
        os.kill(os.getpid(), e.signum)
        return 128 + e.signum
    except (OSError, ValueError) as e:
        # One line, as the Rust CLI's: `atomic_write: PATH: what failed: why`.
        path = args.path if args.path.isprintable() else repr(args.path)
        print(f"atomic_write: {path}: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
