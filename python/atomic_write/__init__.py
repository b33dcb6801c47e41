"""Crash-safe file replacement, built on the Rust crate ``atomic-write``.

Whatever happens -- a concurrent reader, a second writer, SIGKILL, a full disk,
a power cut -- the target holds either the whole old content or the whole new
content: never a mix, never an empty or partial file, never a stray temp file.
Once a write returns, the new content survives power loss.

:func:`open` is the built-in ``open`` for writing, made atomic: what is
written replaces the file when it is closed (or the ``with`` block ends
normally), and not at all if the block ends by an exception::

    >>> import atomic_write
    >>> with atomic_write.open("config.json", "w") as f:   # doctest: +SKIP
    ...     f.write('{"version": 2}\\n')

The one-shot functions replace a file with a string or bytes:

    >>> from atomic_write import atomic_write_text, atomic_write_bytes
    >>> atomic_write_text("config.json", '{"version": 2}\\n')      # doctest: +SKIP
    >>> atomic_write_bytes("blob.dat", b"\\x00\\x01\\x02")           # doctest: +SKIP
    >>> atomic_write_text("script.sh", "#!/bin/sh\\necho hi\\n", mode=0o755)  # doctest: +SKIP

Every write creates its temp file in the target's own directory (on Linux an
unnamed ``O_TMPFILE`` file, so a killed process leaves nothing behind), writes
it, sets the mode (an explicit one, else the existing target's, else the
umask's), owner and extended attributes, ``fsync``s it, renames it over the
target and ``fsync``s the directory.  A symlink is written through: the link
stays a link.  The interpreter's lock is released while the disk is busy.

Errors are ``OSError`` subclasses chosen by ``errno`` as Python chooses them
(``FileNotFoundError``, ``PermissionError``, ``IsADirectoryError``, ...), with
``errno``, ``strerror`` (naming the step that failed) and ``filename`` set; the
target is then untouched and no temp file is left.

A write belongs to the process that started it: after ``os.fork()``, the
child's copy of an open file is closed in the child without writing anything,
and nothing the child does (closing, discarding, exiting) touches the
parent's write.  A signal (Ctrl-C) that arrives before the rename abandons the
write; one that arrives during the commit is raised once the write is done.

``ATOMIC_WRITE_NO_TMPFILE=1`` in the environment (read once) makes every write
take the named-temp path, as on a filesystem without ``O_TMPFILE``: a test
hook.
"""

from __future__ import annotations

import io as _io
import math as _math
import operator as _operator
import os as _os
import warnings as _warnings
import weakref as _weakref

from . import _native

__all__ = [
    "AtomicBinaryFile",
    "AtomicRandomFile",
    "AtomicRawFile",
    "AtomicTextFile",
    "atomic_write_bytes",
    "atomic_write_text",
    "commit_all",
    "open",
    "sweep",
]

__version__ = "0.1.0"

# Data is written in chunks this big, Python's signal handlers running between them.
_CHUNK = 8 << 20


def _options(
    mode, durable, follow_symlinks, exclusive, append, preserve_xattrs, backup, parents, force, lock_timeout
):
    """The options of a write as the native half takes them; argument errors
    (TypeError, ValueError) before anything touches the disk."""
    if mode is not None:
        mode = _operator.index(mode)
        if not 0 <= mode <= 0o7777:
            sign = "-" if mode < 0 else ""
            raise ValueError(f"mode must be between 0 and 0o7777, not {sign}{abs(mode):#o}")
    kind = "simple"
    if backup is True:
        suffix = "~"
    elif backup is False or backup is None:
        suffix = None
    elif isinstance(backup, str) and backup in ("numbered", "existing"):
        # The kinds of `cp --backup=CONTROL`: PATH.~N~, or that if PATH has
        # numbered backups already and PATH~ if not.
        kind, suffix = backup, "~"
    elif isinstance(backup, (str, bytes, _os.PathLike)):
        suffix = _os.fsdecode(backup)
        if not suffix or "/" in suffix or "\0" in suffix:
            raise ValueError(f"backup suffix must be a non-empty file name ending, not {suffix!r}")
    else:
        raise TypeError(
            f"backup must be a bool, 'numbered', 'existing' or a suffix (str), not {type(backup).__name__}"
        )
    if lock_timeout is not None:
        if hasattr(lock_timeout, "total_seconds"):
            lock_timeout = lock_timeout.total_seconds()
        elif isinstance(lock_timeout, (bool, str, bytes)):
            raise TypeError(f"lock_timeout must be a number of seconds or None, not {type(lock_timeout).__name__}")
        lock_timeout = float(lock_timeout)
        if not _math.isfinite(lock_timeout) or lock_timeout < 0:
            raise ValueError(f"lock_timeout must be a non-negative finite number of seconds, not {lock_timeout!r}")
    return {
        "mode": mode,
        "durable": bool(durable),
        "follow_symlinks": bool(follow_symlinks),
        "exclusive": bool(exclusive),
        "append": bool(append),
        "preserve_xattrs": bool(preserve_xattrs),
        "backup": suffix,
        "backup_kind": kind,
        "parents": bool(parents),
        "force": bool(force),
        "lock_timeout": lock_timeout,
    }


def atomic_write_text(
    path,
    data,
    *,
    encoding="utf-8",
    errors="strict",
    newline=None,
    mode=None,
    durable=True,
    exclusive=False,
    follow_symlinks=True,
    preserve_xattrs=True,
    backup=False,
    parents=False,
    if_changed=False,
    force=False,
    lock_timeout=None,
):
    """Atomically replace ``path`` with the string ``data``, encoded with ``encoding``.

    ``path`` is a ``str``, ``bytes`` or ``os.PathLike``.  ``data`` is encoded
    with Python's own codecs and ``errors`` handler before anything touches
    the disk, so a character the encoding cannot hold raises
    ``UnicodeEncodeError`` with the target untouched.  ``newline`` is as for
    ``pathlib.Path.write_text``: ``None`` writes ``"\\n"`` as ``os.linesep``,
    ``""`` and ``"\\n"`` write it as it is, ``"\\r"`` and ``"\\r\\n"`` replace it.

    ``mode``, if given, is the file's exact permission bits (as ``os.chmod``;
    the umask does not apply); if ``None``, an existing target's mode is kept
    and a new file gets ``0o666`` less the umask.  An existing target's owner
    and group are kept where the process may set them, and its extended
    attributes (ACL, security label, ``user.*``) unless
    ``preserve_xattrs=False``.

    ``durable=False`` skips both ``fsync``s: still atomic for readers and
    process crashes, not for power loss.  ``exclusive=True`` fails with
    ``FileExistsError`` if ``path`` exists (race-free).
    ``follow_symlinks=False`` replaces a symlink at ``path`` itself; by
    default the file it points to is replaced and the link stays.
    ``backup=True`` keeps the replaced file as ``PATH~`` (a string is another
    suffix: ``backup=".bak"``); ``backup="numbered"`` keeps every version, as
    ``PATH.~1~``, ``PATH.~2~``, … (one more than the highest, as ``cp
    --backup=numbered`` numbers them), and ``backup="existing"`` does that if
    ``PATH`` has numbered backups already, else keeps ``PATH~``.  ``parents=True`` creates missing directories
    as ``mkdir -p`` does.  ``if_changed=True`` leaves the file untouched (no
    rename, no backup, nothing synced) if it already has this content and
    mode, and returns whether it replaced it; otherwise this returns ``None``.

    An existing target the caller may not write (say a root-owned ``0644``
    file in the caller's own directory) is refused with ``PermissionError``,
    as the built-in ``open(path, "w")`` refuses it, although the rename
    could replace it; ``force=True`` replaces it anyway (the new file is
    then the caller's), as ``mv -f`` does.  Root may write any file.

    ``lock_timeout`` is how long, in seconds (a number or a
    ``datetime.timedelta``), a write that makes a backup waits for another
    writer of this library holding the target's lock (from its backup to its
    rename, or an appender's from opening to committing); ``None`` is the
    library's default, 10 seconds, and ``0`` does not wait.  Then the write
    fails with ``BlockingIOError`` (``errno.EAGAIN``), the target untouched.
    Writes without ``backup`` take no lock and never wait.  A negative or
    non-finite value is a ``ValueError``.

    Raises ``FileNotFoundError`` (parent directory missing),
    ``IsADirectoryError`` (``path`` is a directory), ``PermissionError`` (the
    temp file cannot be created or the target replaced, or the caller may
    not write the target and not ``force``), ``FileExistsError``
    (``exclusive``), ``BlockingIOError`` (``lock_timeout`` ran out),
    ``OSError`` for any other failure (``ENOSPC``, ``EIO``, ...),
    ``TypeError`` if ``data`` is not a ``str``.  On any error the target is
    untouched and no temp file is left.
    """
    if not isinstance(data, str):
        raise TypeError(f"data must be str, not {type(data).__name__}")
    if newline is not None and not isinstance(newline, str):
        raise TypeError(f"newline must be str or None, not {type(newline).__name__}")
    if newline not in (None, "", "\n", "\r", "\r\n"):
        raise ValueError(f"illegal newline value: {newline!r}")
    eol = _os.linesep if newline is None else newline
    if eol and eol != "\n":
        data = data.replace("\n", eol)
    encoded = data.encode(encoding, errors)
    opts = _options(
        mode, durable, follow_symlinks, exclusive, False, preserve_xattrs, backup, parents, force, lock_timeout
    )
    changed = _native.write(path, encoded, opts, bool(if_changed))
    return changed if if_changed else None


def atomic_write_bytes(
    path,
    data,
    *,
    mode=None,
    durable=True,
    exclusive=False,
    follow_symlinks=True,
    preserve_xattrs=True,
    backup=False,
    parents=False,
    if_changed=False,
    force=False,
    lock_timeout=None,
):
    """Atomically replace ``path`` with ``data``, a bytes-like object.

    ``data`` may be ``bytes``, ``bytearray``, ``memoryview`` or any object
    with the buffer protocol; it is written without being copied.  Otherwise
    the same contract and options as :func:`atomic_write_text`; ``TypeError``
    if ``data`` is not bytes-like (a ``str`` included).
    """
    opts = _options(
        mode, durable, follow_symlinks, exclusive, False, preserve_xattrs, backup, parents, force, lock_timeout
    )
    if_changed = bool(if_changed)
    if isinstance(data, bytes):
        changed = _native.write(path, data, opts, if_changed)
        return changed if if_changed else None
    view = _byte_view(data)
    native = _native.create(path, opts)
    try:
        fd = native.fileno()
        _write_all(fd, view, path)
        if len(view) > _CHUNK and opts["durable"] and not if_changed:
            # As the native write does: the data is flushed while a signal
            # can still abandon the write, so the commit's sync is short.
            _os.fdatasync(fd)
        changed = native.commit(if_changed)
    except BaseException:
        _discard_quietly(native)
        raise
    return changed if if_changed else None


def _byte_view(data):
    """A flat, C-contiguous byte view of a bytes-like object (or TypeError)."""
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"data must be a bytes-like object, not {type(data).__name__}") from None
    if not view.c_contiguous:
        return memoryview(view.tobytes())
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def _write_all(fd, view, path):
    """``os.write`` in chunks until all of ``view`` is written (signals are
    raised between chunks), naming the step on error."""
    done, size = 0, len(view)
    try:
        while done < size:
            done += _os.write(fd, view[done : done + _CHUNK])
    except OSError as e:
        raise OSError(
            e.errno,
            f"failed to write temporary file for {_os.fsdecode(path)!r}: {e.strerror}",
            _os.fspath(path),
        ) from None


def _discard_quietly(native):
    try:
        native.discard()
    except (OSError, ValueError):
        pass


# The files of open() not yet committed or discarded, for the fork hook.
_live = _weakref.WeakSet()


def _forked():
    """In a forked child: every live file is the parent's write.  Its
    descriptor is closed in the child, without flushing what the child's copy
    of the buffer holds, and nothing the child does touches the write."""
    for f in list(_live):
        f._disown()


if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_forked)


class _Atomic:
    """What the file objects of :func:`open` add to their ``io`` base class."""

    # The write (a _native.AtomicFile) until committed or discarded.
    _native = None
    # The io.FileIO over this object's duplicate of the temp's descriptor.
    _raw = None
    # The process that opened the file; only it may commit or discard it.
    _pid = None

    def _setup(self, native, raw):
        self._native = native
        self._raw = raw
        self._pid = _os.getpid()
        _live.add(self)

    def commit(self):
        """Replace the target with what was written: flush, set owner, mode
        and extended attributes, ``fsync``, rename, ``fsync`` the directory
        (syncs only if ``durable``).  The file is closed afterwards.  On error
        the target is untouched and the temp file is removed.  ``close()``
        and leaving a ``with`` block normally do the same."""
        if self._foreign():
            raise ValueError(f"this write belongs to process {self._pid}, not to this forked child")
        native = self._take()
        try:
            self.flush()
        except BaseException:
            _discard_quietly(native)
            self._close_unflushed()
            raise
        self._close_quietly()
        try:
            native.commit()
        except BaseException:
            # A signal raised before the rename leaves the write pending: it goes.
            _discard_quietly(native)
            raise

    def discard(self):
        """Abandon the write: the temp file is removed, the target untouched,
        and the file closed (without flushing).  Raises if removing the temp
        file fails.  In a forked child it does nothing: the write is the
        parent's."""
        if self._foreign():
            return
        native = self._take()
        try:
            native.discard()
        finally:
            self._close_unflushed()

    def close(self):
        """Commit (see :meth:`commit`), as closing a file opened with the
        built-in ``open`` saves it.  Closing again does nothing."""
        if self._foreign():
            self._close_unflushed()
        elif self._native is None:
            self._close_quietly()
        else:
            self.commit()

    def __exit__(self, exc_type, exc, tb):
        """Commit on a clean exit, discard on an exception."""
        if exc_type is None or self._native is None or self._foreign():
            self.close()
        else:
            native = self._take()
            _discard_quietly(native)
            self._close_unflushed()

    def __del__(self):
        """Collected without commit() or discard(): the write is discarded,
        with a ResourceWarning saying so."""
        native = self._native
        if native is None:
            super().__del__()
            return
        self._native = None
        if not self._foreign():
            try:
                name = self.name
            except Exception:
                name = "?"
            _warnings.warn(
                f"atomic_write.open({name!r}) was never closed, committed or discarded: "
                "the write was discarded",
                ResourceWarning,
                source=self,
            )
            _discard_quietly(native)
        self._close_unflushed()

    def _foreign(self):
        return self._pid is not None and self._pid != _os.getpid()

    def _disown(self):
        """In a forked child: close our copy of the descriptor unflushed."""
        if self._native is not None:
            self._close_unflushed()

    def _take(self):
        native, self._native = self._native, None
        if native is None:
            raise ValueError("the file was already committed or discarded")
        _live.discard(self)
        return native

    def _close_unflushed(self):
        """Closes the descriptor under the buffers, so that nothing they hold
        is written; the file is closed."""
        try:
            _io.FileIO.close(self._raw)
        except (OSError, TypeError):
            pass
        self._close_quietly()

    def _close_quietly(self):
        try:
            super().close()
        except (OSError, ValueError):
            pass


class AtomicTextFile(_Atomic, _io.TextIOWrapper):
    """A text file object (``io.TextIOWrapper``) whose content replaces its
    target when it is closed or committed; returned by :func:`open` in text
    modes (``"w"``, ``"x"``, ``"a"``, with ``"t"`` or ``"+"``)."""


class AtomicBinaryFile(_Atomic, _io.BufferedWriter):
    """A binary file object (``io.BufferedWriter``) whose content replaces its
    target when it is closed or committed; returned by :func:`open` in
    ``"wb"``, ``"xb"`` and ``"ab"``."""


class AtomicRandomFile(_Atomic, _io.BufferedRandom):
    """A binary file object (``io.BufferedRandom``: it reads back what was
    written) whose content replaces its target when it is closed or
    committed; returned by :func:`open` in ``"wb+"``, ``"xb+"`` and
    ``"ab+"``."""


class AtomicRawFile(_Atomic, _io.FileIO):
    """An unbuffered binary file object (``io.FileIO``) whose content
    replaces its target when it is closed or committed; returned by
    :func:`open` in binary modes with ``buffering=0``."""


def open(
    file,
    mode="w",
    buffering=-1,
    encoding=None,
    errors=None,
    newline=None,
    *,
    perms=None,
    durable=True,
    follow_symlinks=True,
    preserve_xattrs=True,
    backup=False,
    parents=False,
    force=False,
    lock_timeout=None,
):
    """Open ``file`` for writing as the built-in ``open`` does; its content
    replaces ``file`` atomically when the file object is closed.

    ``mode`` is the built-in's: ``"w"`` (start empty), ``"x"`` (the file must
    not exist: ``FileExistsError``, checked again race-free at the commit) or
    ``"a"`` (start from a copy of the current content; writes go to its end),
    with ``"b"`` for binary or ``"t"`` (the default) for text, and ``"+"`` to
    read back what was written.  ``buffering``, ``errors`` and ``newline`` are
    the built-in's; ``encoding`` too, but defaults to UTF-8, not the locale's
    (``encoding="locale"`` is the built-in's default).  ``.name`` is ``file``
    and ``.mode`` the mode, as the built-in's file objects have them::

        with atomic_write.open("cfg.json", "w") as f:
            json.dump(obj, f)

    Nothing is visible at ``file`` before the commit.  ``close()`` commits
    (as the built-in's ``close()`` saves), and so does leaving a ``with``
    block normally; leaving it by an exception discards the write, and so
    does :meth:`~AtomicTextFile.discard`.  A file garbage-collected without
    either is discarded, with a ``ResourceWarning``.  ``commit()`` is
    ``close()`` by name.

    ``perms`` is the exact permission bits (default: the existing file's,
    else ``0o666`` less the umask).  ``durable``, ``follow_symlinks``,
    ``preserve_xattrs``, ``backup``, ``parents`` and ``force`` are as for
    :func:`atomic_write_text`: without ``force``, a file the caller may not
    write is refused here, with ``PermissionError``.

    ``lock_timeout`` (seconds, or a ``datetime.timedelta``; ``None``: the
    library's default, 10 seconds; ``0``: don't wait) bounds the waits for
    the target's lock, held by another writer of this library that appends
    or makes a backup: in ``"a"`` modes this call waits for it (two
    appenders take turns, so neither loses the other's lines), and with
    ``backup`` the commit does.  When it runs out, ``BlockingIOError``
    (``errno.EAGAIN``) with the target untouched.  Other writes take no lock
    and never wait.  A negative or non-finite value is a ``ValueError``.  A
    thread that opens for appending a file it is appending to already gets
    that error at once, whatever ``lock_timeout`` (it would wait for itself).

    Errors are as for :func:`atomic_write_text`, raised here for everything
    knowable before writing (missing directory, a directory at ``file``, no
    permission, an existing file with ``"x"``) and by ``close()`` for the
    rest; a mode or argument the built-in would refuse is a ``ValueError``
    or ``TypeError`` with nothing touched.
    """
    if not isinstance(mode, str):
        raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
    if not isinstance(buffering, int):
        raise TypeError(f"'{type(buffering).__name__}' object cannot be interpreted as an integer")
    chars = set(mode)
    if "r" in chars and chars <= set("rbt+"):
        raise ValueError(f"invalid mode: {mode!r} (atomic_write.open writes a new version: 'w', 'x' or 'a')")
    if not chars <= set("wxabt+") or len(chars) != len(mode):
        raise ValueError(f"invalid mode: {mode!r}")
    binary = "b" in chars
    if binary and "t" in chars:
        raise ValueError("can't have text and binary mode at once")
    if len(chars & set("wxa")) != 1:
        raise ValueError("must have exactly one of create/write/append mode")
    if binary:
        for name, value in (("an encoding", encoding), ("an errors", errors), ("a newline", newline)):
            if value is not None:
                raise ValueError(f"binary mode doesn't take {name} argument")
        if buffering == 1:
            _warnings.warn(
                "line buffering (buffering=1) isn't supported in binary mode, "
                "the default buffer size will be used",
                RuntimeWarning,
                2,
            )
    else:
        if buffering == 0:
            raise ValueError("can't have unbuffered text I/O")
        # What the io layers would refuse, refused before the temp exists.
        if encoding is None:
            encoding = "utf-8"
        elif not isinstance(encoding, str):
            raise TypeError(f"open() argument 'encoding' must be str or None, not {type(encoding).__name__}")
        elif encoding != "locale":
            import codecs

            if getattr(codecs.lookup(encoding), "_is_text_encoding", True) is False:
                raise LookupError(f"{encoding!r} is not a text encoding; use codecs.open() to handle arbitrary codecs")
        if errors is not None and not isinstance(errors, str):
            raise TypeError(f"open() argument 'errors' must be str or None, not {type(errors).__name__}")
        if newline is not None and not isinstance(newline, str):
            raise TypeError(f"open() argument 'newline' must be str or None, not {type(newline).__name__}")
        if newline not in (None, "", "\n", "\r", "\r\n"):
            raise ValueError(f"illegal newline value: {newline}")
    appending = "a" in chars
    opts = _options(
        perms, durable, follow_symlinks, "x" in chars, appending, preserve_xattrs, backup, parents, force, lock_timeout
    )
    native = _native.create(file, opts)
    fd = raw = None
    try:
        fd = _os.dup(native.fileno())
        if appending:
            # As the built-in's O_APPEND: every write goes to the end.
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | _os.O_APPEND)
        raw_mode = mode.replace("b", "").replace("t", "")
        raw_cls = AtomicRawFile if buffering == 0 else _io.FileIO
        raw = raw_cls(fd, raw_mode, closefd=True)
        fd = None
        raw.name = _os.fspath(file)
        line_buffering = buffering == 1
        if buffering < 0 or buffering == 1:
            buffering = getattr(raw, "_blksize", _io.DEFAULT_BUFFER_SIZE)
        if buffering == 0:
            result = raw
        elif binary:
            result = (AtomicRandomFile if "+" in chars else AtomicBinaryFile)(raw, buffering)
        else:
            buffer = (_io.BufferedRandom if "+" in chars else _io.BufferedWriter)(raw, buffering)
            result = AtomicTextFile(buffer, encoding, errors, newline, line_buffering)
            result.mode = mode
        result._setup(native, raw)
        return result
    except BaseException:
        _discard_quietly(native)
        if raw is not None:
            _io.FileIO.close(raw)
        elif fd is not None:
            _os.close(fd)
        raise


def commit_all(files):
    """Commit many files from :func:`open` together: each atomically, all
    durably once this returns, with far fewer flushes than one ``commit()``
    each (one ``syncfs`` per filesystem, one ``fsync`` per directory).

    A file given twice, or already committed or discarded, is a
    ``ValueError`` with every file left as it was (still open, still to be
    committed).  On an error before any rename nothing has changed and every
    temp is removed; see the crate's ``commit_all`` for the rest.  Every file
    is closed afterwards.
    """
    files = list(files)
    seen = set()
    for f in files:
        if not isinstance(f, _Atomic):
            raise TypeError(f"commit_all takes files from atomic_write.open, not {type(f).__name__}")
        if id(f) in seen:
            raise ValueError(f"commit_all got the same file twice: {f.name!r}")
        seen.add(id(f))
        if f._native is None:
            raise ValueError("the file was already committed or discarded")
        if f._foreign():
            raise ValueError(f"this write belongs to process {f._pid}, not to this forked child")
    natives = [f._take() for f in files]
    try:
        for f in files:
            f.flush()
    except BaseException:
        for f, native in zip(files, natives):
            _discard_quietly(native)
            f._close_unflushed()
        raise
    for f in files:
        f._close_quietly()
    try:
        _native.commit_all(natives)
    except BaseException:
        # A signal before the first rename: nothing was taken, so all go.
        for native in natives:
            _discard_quietly(native)
        raise


def sweep(dir, older_than=3600.0):
    """Remove the temp files that killed writers left in ``dir``; return how
    many were removed.

    Only regular files named exactly as this library's temps
    (``.NAME.atomic-write-<16 hex>.tmp``), not locked by a live writer, and
    last modified at least ``older_than`` seconds ago (a number or a
    ``datetime.timedelta``) are removed; subdirectories are not entered.  On
    Linux temps are left only by a writer killed between naming the temp and
    the rename, or on a filesystem without ``O_TMPFILE``.
    """
    if hasattr(older_than, "total_seconds"):
        older_than = older_than.total_seconds()
    return _native.sweep(dir, float(older_than))
