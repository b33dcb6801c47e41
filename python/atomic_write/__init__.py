"""Crash-safe file replacement, built on the Rust crate ``atomic-write``.

Whatever happens -- a concurrent reader, a second writer, SIGKILL, a full disk,
a power cut -- the target holds either the whole old content or the whole new
content: never a mix, never an empty or partial file, never a stray temp file.
Once a write returns, the new content survives power loss.

Every write creates its temp file in the target's own directory (on Linux an
unnamed ``O_TMPFILE`` file, so a killed process leaves nothing behind), writes
it, sets the mode (an explicit one, else the existing target's, else the
umask's) and owner, ``fsync``s it, renames it over the target and ``fsync``s the
directory.  A symlink is written through: the link stays a link.  The
interpreter's lock is released while the disk is busy.

    >>> from atomic_write import atomic_write_text, atomic_write_bytes
    >>> atomic_write_text("config.json", '{"version": 2}\\n')      # doctest: +SKIP
    >>> atomic_write_bytes("blob.dat", b"\\x00\\x01\\x02")           # doctest: +SKIP
    >>> atomic_write_text("script.sh", "#!/bin/sh\\necho hi\\n", mode=0o755)  # doctest: +SKIP

Errors are ``OSError`` subclasses chosen by ``errno`` as Python chooses them
(``FileNotFoundError``, ``PermissionError``, ``IsADirectoryError``, ...), with
``errno``, ``strerror`` (naming the step that failed) and ``filename`` set; the
target is then untouched and no temp file is left.
"""

from __future__ import annotations

import io as _io
import os as _os

from . import _native

__all__ = [
    "AtomicBinaryFile",
    "AtomicTextFile",
    "atomic_write_bytes",
    "atomic_write_text",
    "commit_all",
    "open",
    "sweep",
]

__version__ = "0.1.0"


def atomic_write_text(path, data, *, encoding="utf-8", mode=None):
    """Atomically replace ``path`` with the string ``data``, encoded with ``encoding``.

    ``path`` is a ``str``, ``bytes`` or ``os.PathLike``.  ``data`` is encoded
    with Python's own codecs before anything touches the disk, so a character
    the encoding cannot hold raises ``UnicodeEncodeError`` with the target
    untouched.  ``mode``, if given, is the file's exact permission bits (as
    ``os.chmod``; the umask does not apply); if ``None``, an existing target's
    mode is kept and a new file gets ``0o666`` less the umask.  An existing
    target's owner and group are kept where the process may set them.

    If ``path`` is a symlink, the file it points to is replaced and the link
    stays.  The new content is durable (file and directory ``fsync``ed) when
    this returns.

    Raises ``FileNotFoundError`` (parent directory missing),
    ``IsADirectoryError`` (``path`` is a directory), ``PermissionError`` (the
    temp file cannot be created or the target replaced), ``OSError`` for any
    other failure (``ENOSPC``, ``EIO``, ...), ``TypeError`` if ``data`` is not a
    ``str``.  On any error the target is untouched and no temp file is left.
    """
    if not isinstance(data, str):
        raise TypeError(f"data must be str, not {type(data).__name__}")
    _native.write(path, data.encode(encoding), mode, True, True, False, False)


def atomic_write_bytes(path, data, *, mode=None):
    """Atomically replace ``path`` with ``data``, a bytes-like object.

    ``data`` may be ``bytes``, ``bytearray``, ``memoryview`` or any object
    with the buffer protocol; it is written without being copied.  Otherwise
    the same contract as :func:`atomic_write_text`; ``TypeError`` if ``data``
    is not bytes-like (a ``str`` included).
    """
    if isinstance(data, bytes):
        _native.write(path, data, mode, True, True, False, False)
        return
    view = _byte_view(data)
    native = _native.create(path, mode, True, True, False, False)
    try:
        _write_all(native.fileno(), view, path)
    except BaseException:
        _discard_quietly(native)
        raise
    native.commit()


def _byte_view(data):
    """A flat, C-contiguous byte view of a bytes-like object (or TypeError)."""
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(
            f"data must be a bytes-like object, not {type(data).__name__}"
        ) from None
    if not view.c_contiguous:
        return memoryview(view.tobytes())
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def _write_all(fd, view, path):
    """``os.write`` until all of ``view`` is written, naming the step on error."""
    done, size = 0, len(view)
    try:
        while done < size:
            done += _os.write(fd, view[done:])
    except OSError as e:
        raise OSError(
            e.errno, f"failed to write temporary file for {_os.fsdecode(path)!r}: {e.strerror}", _os.fspath(path)
        ) from None


def _discard_quietly(native):
    try:
        native.discard()
    except (OSError, ValueError):
        pass


class _Atomic:
    """What both file objects of :func:`open` add to their ``io`` base class."""

    _native = None

    def commit(self):
        """Replace the target with what was written: flush, set owner and
        mode, ``fsync``, rename, ``fsync`` the directory (syncs only if
        ``durable``).  The file is closed afterwards.  On error the target is
        untouched and the temp file is removed."""
        native = self._take()
        try:
            self.flush()
        except BaseException:
            _discard_quietly(native)
            self._close_quietly()
            raise
        self._close_quietly()
        native.commit()

    def discard(self):
        """Abandon the write: the temp file is removed, the target untouched,
        and the file closed.  Raises if removing the temp file fails."""
        native = self._take()
        try:
            native.discard()
        finally:
            self._close_quietly()

    def close(self):
        """Close the file; without an earlier :meth:`commit` this discards
        the write (as leaving a ``with`` block by an exception does)."""
        if self._native is not None:
            self.discard()
        else:
            self._close_quietly()

    def __exit__(self, exc_type, exc, tb):
        """Commit on a clean exit, discard on an exception."""
        if self._native is None:
            self._close_quietly()
        elif exc_type is None:
            self.commit()
        else:
            native = self._take()
            _discard_quietly(native)
            self._close_quietly()

    def _take(self):
        native, self._native = self._native, None
        if native is None:
            raise ValueError("the file was already committed or discarded")
        return native

    def _close_quietly(self):
        try:
            super().close()
        except OSError:
            pass


class AtomicBinaryFile(_Atomic, _io.BufferedWriter):
    """A binary file object (``io.BufferedWriter``) whose content replaces
    its target only on :meth:`commit`; returned by :func:`open` in ``"wb"`` and
    ``"ab"``."""

    def __init__(self, raw, native):
        _io.BufferedWriter.__init__(self, raw)
        self._native = native


class AtomicTextFile(_Atomic, _io.TextIOWrapper):
    """A text file object (``io.TextIOWrapper``) whose content replaces its
    target only on :meth:`commit`; returned by :func:`open` in ``"w"`` and
    ``"a"``."""

    def __init__(self, buffer, native, encoding, newline):
        _io.TextIOWrapper.__init__(self, buffer, encoding=encoding, newline=newline)
        self._native = native


def open(
    path,
    access="w",
    /,
    *,
    encoding=None,
    newline=None,
    mode=None,
    durable=True,
    follow_symlinks=True,
    exclusive=False,
):
    """Open a file whose content replaces ``path`` atomically on commit.

    ``access`` is ``"w"``/``"a"`` (text) or ``"wb"``/``"ab"`` (binary); ``"a"``
    starts from a copy of the current content.  Used as a context manager, the
    file commits on a clean exit and discards on an exception::

        with atomic_write.open("cfg.json", "w") as f:
            json.dump(obj, f)

    Nothing is visible at ``path`` before the commit.  Outside ``with``, call
    :meth:`~AtomicTextFile.commit` or :meth:`~AtomicTextFile.discard`;
    ``close()`` without ``commit()`` discards.

    ``encoding`` (text only) defaults to ``"utf-8"``, not the locale's;
    ``newline`` is as for the built-in ``open``.  ``mode`` is the exact
    permission bits (default: the existing target's, else the umask's).
    ``durable=False`` skips both ``fsync``s: still atomic for readers and
    process crashes, not for power loss.  ``follow_symlinks=False`` replaces a
    symlink at ``path`` itself.  ``exclusive=True`` fails with
    ``FileExistsError`` if ``path`` exists, checked again race-free at commit.

    Errors are as for :func:`atomic_write_text`, raised here for everything
    knowable before writing (missing directory, a directory at ``path``, no
    permission) and by ``commit()`` for the rest.
    """
    if not isinstance(access, str):
        raise TypeError(f"access must be str, not {type(access).__name__}")
    chars = set(access)
    if (
        len(chars) != len(access)
        or not chars <= set("wabt")
        or len(chars & set("wa")) != 1
        or {"b", "t"} <= chars
    ):
        raise ValueError(f"invalid access {access!r}: use 'w', 'a', 'wb' or 'ab'")
    binary = "b" in chars
    if binary and (encoding is not None or newline is not None):
        raise ValueError("binary mode doesn't take an encoding or newline argument")
    if encoding is None:
        encoding = "utf-8"
    elif not binary:
        # An unknown encoding fails before the temp file exists.
        import codecs

        codecs.lookup(encoding)
    native = _native.create(path, mode, durable, follow_symlinks, exclusive, "a" in chars)
    try:
        raw = _io.FileIO(_os.dup(native.fileno()), "w", closefd=True)
        raw.name = path
        if binary:
            return AtomicBinaryFile(raw, native)
        return AtomicTextFile(_io.BufferedWriter(raw), native, encoding, newline)
    except BaseException:
        _discard_quietly(native)
        raise


def commit_all(files):
    """Commit many files from :func:`open` together: each atomically, all
    durably once this returns, with far fewer flushes than one ``commit()``
    each (one ``syncfs`` per filesystem, one ``fsync`` per directory).

    On an error before any rename nothing has changed and every temp is
    removed; see the crate's ``commit_all`` for the rest.  Every file is
    closed afterwards.
    """
    files = list(files)
    for f in files:
        if not isinstance(f, _Atomic):
            raise TypeError(
                f"commit_all takes files from atomic_write.open, not {type(f).__name__}"
            )
        if f._native is None:
            raise ValueError("the file was already committed or discarded")
    natives = [f._take() for f in files]
    try:
        for f in files:
            f.flush()
    except BaseException:
        for f, native in zip(files, natives):
            _discard_quietly(native)
            f._close_quietly()
        raise
    for f in files:
        f._close_quietly()
    _native.commit_all(natives)


def sweep(dir, older_than=3600.0):
    """Remove the temp files that killed writers left in ``dir``; return how
    many were removed.

    Only regular files named exactly as this library's temps
    (``.NAME.atomic-write-<16 hex>.tmp``) and last modified at least
    ``older_than`` seconds ago (a number or a ``datetime.timedelta``) are
    removed; subdirectories are not entered.  On Linux temps are left only by
    a writer killed between naming the temp and the rename, or on a filesystem
    without ``O_TMPFILE``.
    """
    if hasattr(older_than, "total_seconds"):
        older_than = older_than.total_seconds()
    return _native.sweep(dir, float(older_than))
