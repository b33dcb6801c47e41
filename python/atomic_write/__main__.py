"""``python -m atomic_write PATH``: replace PATH atomically with standard input.

Reads standard input to its end as bytes and replaces PATH through the
library, in constant memory whatever the size (the Rust side streams it with
``splice``/``copy_file_range``).  Exit status 0 on success; 1 on an I/O
failure, with one line on stderr naming the step and the path; 2 on a usage
error.  Interrupted (SIGINT, SIGTERM, SIGPIPE), it dies by the signal and
commits nothing.
"""

from __future__ import annotations

import argparse
import signal
import sys

from . import _native

PROG = "python -m atomic_write"


def _octal(text):
    try:
        mode = int(text, 8)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid octal mode {text!r}") from None
    if not 0 <= mode <= 0o7777:
        raise argparse.ArgumentTypeError(f"mode {text!r} is out of range (0 to 7777)")
    return mode


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
    # Die by the signal, as a shell tool does: the temp is unnamed (or removed
    # by the kernel with the process on Linux), and nothing is committed.
    for sig in (signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    try:
        _native.write_stdin(args.path, args.mode, not args.no_sync, not args.no_follow)
    except (OSError, ValueError) as e:
        # One line, as the Rust CLI's: `atomic_write: PATH: what failed: why`.
        path = args.path if args.path.isprintable() else repr(args.path)
        print(f"atomic_write: {path}: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
