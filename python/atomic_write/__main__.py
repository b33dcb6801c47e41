"""``python -m atomic_write``: the ``atomic-write`` command.

The same program as the Rust crate's ``atomic-write`` binary -- its own code,
run inside this interpreter by the extension -- with the same options,
messages and exit statuses: ``python -m atomic_write --help``.  pip also
installs it as the ``atomic-write`` command.
"""

from __future__ import annotations

import os
import signal
import sys

from . import _native


def _standard_fds_as_rust_opens_them() -> None:
    """Rust's runtime opens ``/dev/null`` (read-write) in place of a standard
    descriptor that was closed when the program started, and the CLI refuses
    such a standard input ("it is closed") rather than read nothing from it.
    Python leaves them closed (its ``sys.stdin`` is then ``None``): do as
    Rust does, so the command behaves as the binary."""
    for fd, stream in enumerate((sys.stdin, sys.stdout, sys.stderr)):
        if stream is not None:
            continue
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            os.set_inheritable(fd, True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``sys.argv[1:]`` by default); return the exit
    status.  A signal that ends the command ends this process too, as it
    ends the binary."""
    if argv is None:
        argv = sys.argv[1:]
    _standard_fds_as_rust_opens_them()
    # SIGINT as the binary starts with it: its default action, not Python's
    # KeyboardInterrupt handler, which the CLI would call again for a Ctrl-C
    # that came during the commit (the CLI drops it: the write is done, the
    # status 0). One that comes while it waits for input ends the process.
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        return _native.cli_main(["atomic-write", *argv])
    finally:
        if previous is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
