"""The seed's two functions: signatures, data and path types, encodings, modes,
symlinks and the errors a user can cause without privileges."""

from __future__ import annotations

import datetime
import errno
import inspect
import os
import pathlib
import stat

import pytest

import atomic_write
from atomic_write import atomic_write_bytes, atomic_write_text

from conftest import assert_only, run_python


def file_mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# -- signatures ---------------------------------------------------------------


OPTIONS = (
    "mode=None, durable=True, exclusive=False, follow_symlinks=True, "
    "preserve_xattrs=True, backup=False, parents=False, if_changed=False, force=False, lock_timeout=None"
)


def test_text_signature_is_the_seeds():
    # The seed's parameters keep their names, positions, kinds and defaults;
    # the new ones are keyword-only after them.
    sig = inspect.signature(atomic_write_text)
    assert str(sig) == f"(path, data, *, encoding='utf-8', errors='strict', newline=None, {OPTIONS})"
    kinds = {n: p.kind for n, p in sig.parameters.items()}
    assert kinds["path"] == kinds["data"] == inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(k == inspect.Parameter.KEYWORD_ONLY for n, k in kinds.items() if n not in ("path", "data"))


def test_bytes_signature_is_the_seeds():
    sig = inspect.signature(atomic_write_bytes)
    assert str(sig) == f"(path, data, *, {OPTIONS})"
    assert sig.parameters["mode"].kind == inspect.Parameter.KEYWORD_ONLY


def test_encoding_and_mode_are_keyword_only(scratch):
    with pytest.raises(TypeError):
        atomic_write_text(scratch / "f", "x", "utf-8")  # type: ignore[misc]
    with pytest.raises(TypeError):
        atomic_write_bytes(scratch / "f", b"x", 0o644)  # type: ignore[misc]
    assert_only(scratch, [])


def test_every_public_function_has_a_docstring_and_help():
    for name in atomic_write.__all__:
        obj = getattr(atomic_write, name)
        assert obj.__doc__ and len(obj.__doc__) > 40, name
    import pydoc

    text = pydoc.render_doc(atomic_write_text, renderer=pydoc.plaintext)
    # Without whitespace: Python 3.13's pydoc puts a long signature on many lines.
    assert "atomic_write_text(path,data,*,encoding='utf-8',errors='strict',newline=None,mode=None," in "".join(
        text.split()
    )


# -- data ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "utf-16", "cp1252", "shift_jis"])
def test_text_in_any_python_codec(scratch, encoding):
    text = {"latin-1": "caf\xe9, na\xefve\n", "cp1252": "5\u20ac\n", "shift_jis": "\u65e5\u672c\n"}.get(
        encoding, "caf\xe9 \u65e5\u672c \U0001f600\n"
    )
    atomic_write_text(scratch / "t.txt", text, encoding=encoding)
    assert (scratch / "t.txt").read_bytes() == text.encode(encoding)
    assert_only(scratch, ["t.txt"])


def test_default_encoding_is_utf8(scratch):
    atomic_write_text(scratch / "t", "\u20ac")
    assert (scratch / "t").read_bytes() == b"\xe2\x82\xac"


def test_unencodable_text_leaves_the_target_untouched(scratch):
    target = scratch / "t"
    target.write_bytes(b"old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "price: 5\u20ac", encoding="latin-1")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "lone \udc80 surrogate")
    with pytest.raises(LookupError):
        atomic_write_text(target, "x", encoding="no-such-codec")
    assert target.read_bytes() == b"old"
    assert_only(scratch, ["t"])


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"\x00\x01\x02", b"\x00\x01\x02"),
        (bytearray(b"bytearray"), b"bytearray"),
        (memoryview(b"0123456789")[2:7], b"23456"),
        (memoryview(b"0123456789")[::2], b"02468"),  # not contiguous
        (memoryview(bytearray(b"abcdefgh")).cast("I"), b"abcdefgh"),  # not bytes-shaped
        (b"", b""),
        (bytearray(), b""),
    ],
    ids=["bytes", "bytearray", "memoryview-slice", "memoryview-strided", "memoryview-int", "empty", "empty-bytearray"],
)
def test_bytes_like_data(scratch, data, expected):
    atomic_write_bytes(scratch / "b", data)
    assert (scratch / "b").read_bytes() == expected
    assert_only(scratch, ["b"])


def test_five_mib(scratch):
    data = os.urandom(5 << 20)
    atomic_write_bytes(scratch / "big", data)
    assert (scratch / "big").read_bytes() == data
    atomic_write_bytes(scratch / "big", bytearray(data[::-1]))
    assert (scratch / "big").read_bytes() == data[::-1]


def test_empty_text(scratch):
    (scratch / "t").write_text("old")
    atomic_write_text(scratch / "t", "")
    assert (scratch / "t").read_bytes() == b""


@pytest.mark.parametrize("kind", ["str", "bytes", "PathLike", "relative"])
def test_path_types(scratch, kind, monkeypatch):
    target = scratch / "p"
    path = {
        "str": str(target),
        "bytes": os.fsencode(target),
        "PathLike": pathlib.Path(target),
        "relative": "p",
    }[kind]
    monkeypatch.chdir(scratch)
    atomic_write_text(path, "text")
    atomic_write_bytes(path, b"bytes")
    assert target.read_bytes() == b"bytes"


def test_non_utf8_bytes_path(scratch):
    path = os.fsencode(scratch) + b"/caf\xe9"
    atomic_write_bytes(path, b"x")
    assert os.listdir(os.fsencode(scratch)) == [b"caf\xe9"]


@pytest.mark.parametrize(
    "call",
    [
        lambda p: atomic_write_text(p, b"bytes for text"),
        lambda p: atomic_write_text(p, 42),
        lambda p: atomic_write_text(p, None),
        lambda p: atomic_write_bytes(p, "str for bytes"),
        lambda p: atomic_write_bytes(p, 42),
        lambda p: atomic_write_bytes(p, [1, 2]),
        lambda p: atomic_write_bytes(42, b"int path"),
        lambda p: atomic_write_bytes(None, b"None path"),
        lambda p: atomic_write_text(p, "x", mode="644"),
        lambda p: atomic_write_text(p, "x", encoding=8),
    ],
)
def test_wrong_types_are_type_errors_and_touch_nothing(scratch, call):
    target = scratch / "t"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with pytest.raises(TypeError):
        call(target)
    assert target.read_bytes() == b"old"
    assert file_mode(target) == 0o640
    assert_only(scratch, ["t"])


def test_bad_values_are_value_errors(scratch):
    with pytest.raises(ValueError, match="null byte"):
        atomic_write_bytes(str(scratch / "a\0b"), b"x")
    # Out-of-range modes are ValueErrors, negative ones too (an OverflowError before).
    for mode in (0o10000, -1, 1 << 40):
        with pytest.raises(ValueError, match="0o7777"):
            atomic_write_bytes(scratch / "t", b"x", mode=mode)
        with pytest.raises(ValueError, match="0o7777"):
            atomic_write_text(scratch / "t", "x", mode=mode)
    with pytest.raises(ValueError, match="illegal newline"):
        atomic_write_text(scratch / "t", "x", newline="\r\r")
    assert_only(scratch, [])


# -- modes --------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o755, 0o600, 0o640, 0o444, 0o4755, 0o1777])
def test_explicit_mode_is_exact(scratch, mode):
    atomic_write_text(scratch / "new", "x", mode=mode)
    assert file_mode(scratch / "new") == mode
    (scratch / "old").write_text("old")
    os.chmod(scratch / "old", 0o666)
    atomic_write_bytes(scratch / "old", b"x", mode=mode)
    assert file_mode(scratch / "old") == mode


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600, 0o444])
def test_existing_mode_is_kept(scratch, mode):
    target = scratch / "t"
    target.write_text("old")
    os.chmod(target, mode)
    atomic_write_text(target, "new")
    assert file_mode(target) == mode
    atomic_write_bytes(target, b"newer")
    assert file_mode(target) == mode


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_gets_the_umask_mode(scratch, umask, expected):
    # In a child process: the umask is process-wide.
    code = (
        "import os, sys, atomic_write\n"
        f"os.umask({umask})\n"
        "atomic_write.atomic_write_text(sys.argv[1], 'x')\n"
        "atomic_write.atomic_write_bytes(sys.argv[2], b'x')\n"
        "with atomic_write.open(sys.argv[3], 'w') as f: f.write('x')\n"
    )
    names = ["text", "bytes", "open"]
    out = run_python(code, *(str(scratch / n) for n in names))
    assert out.returncode == 0, out.stderr.decode()
    for n in names:
        assert file_mode(scratch / n) == expected, n


# -- symlinks -----------------------------------------------------------------


def test_write_through_symlink(scratch):
    real_dir, link_dir = scratch / "real", scratch / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    real = real_dir / "config"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = link_dir / "config"
    link.symlink_to(os.path.relpath(real, link_dir))
    atomic_write_text(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"
    assert file_mode(real) == 0o640
    atomic_write_bytes(link, b"bytes", mode=0o600)
    assert link.is_symlink() and real.read_bytes() == b"bytes"
    assert file_mode(real) == 0o600
    assert_only(real_dir, ["config"])
    assert_only(link_dir, ["config"])


def test_chain_and_dangling_symlinks(scratch):
    (scratch / "a").symlink_to("b")
    (scratch / "b").symlink_to("c")
    atomic_write_text(scratch / "a", "created through two links")
    assert (scratch / "c").read_text() == "created through two links"
    assert (scratch / "a").is_symlink() and (scratch / "b").is_symlink()
    assert_only(scratch, ["a", "b", "c"])


def test_symlink_loop_is_an_oserror(scratch):
    (scratch / "a").symlink_to("b")
    (scratch / "b").symlink_to("a")
    with pytest.raises(OSError) as e:
        atomic_write_text(scratch / "a", "x")
    assert e.value.errno == errno.ELOOP
    assert_only(scratch, ["a", "b"])


def test_open_follow_symlinks_false_replaces_the_link(scratch):
    (scratch / "real").write_text("old")
    (scratch / "link").symlink_to("real")
    with atomic_write.open(scratch / "link", "w", follow_symlinks=False) as f:
        f.write("replaced")
    assert not (scratch / "link").is_symlink()
    assert (scratch / "link").read_text() == "replaced"
    assert (scratch / "real").read_text() == "old"


# -- errors -------------------------------------------------------------------


@pytest.mark.parametrize("func", ["text", "bytes"])
def test_missing_parent_is_file_not_found(scratch, func):
    path = scratch / "missing" / "f"
    with pytest.raises(FileNotFoundError) as e:
        if func == "text":
            atomic_write_text(path, "x")
        else:
            atomic_write_bytes(path, bytearray(b"x"))
    assert e.value.errno == errno.ENOENT
    assert e.value.filename == str(path)  # os.fspath(path), as os.open gives it
    assert "missing" in e.value.strerror and "No such file or directory" in e.value.strerror
    assert_only(scratch, [])


def test_directory_is_is_a_directory_error(scratch):
    (scratch / "d").mkdir()
    for call in (lambda: atomic_write_text(scratch / "d", "x"), lambda: atomic_write_bytes(str(scratch / "d"), b"x")):
        with pytest.raises(IsADirectoryError) as e:
            call()
        assert e.value.errno == errno.EISDIR
        assert e.value.filename == str(scratch / "d")
    assert_only(scratch, ["d"])
    assert_only(scratch / "d", [])


def test_error_keeps_the_crates_step_message(scratch):
    with pytest.raises(FileNotFoundError) as e:
        atomic_write_text(scratch / "no" / "f", "x")
    no = scratch / "no"
    assert e.value.strerror == f'failed to open directory "{no}": No such file or directory'
    assert str(e.value) == f"[Errno 2] {e.value.strerror}: {str(no / 'f')!r}"


def test_fifo_is_refused_without_opening_it(scratch):
    os.mkfifo(scratch / "fifo")
    with pytest.raises(OSError) as e:
        atomic_write_text(scratch / "fifo", "x")
    assert e.value.errno == errno.EINVAL
    assert "not a regular file" in e.value.strerror
    assert_only(scratch, ["fifo"])


# -- pathlib's errors and newline ---------------------------------------------


@pytest.mark.parametrize("newline", [None, "", "\n", "\r", "\r\n"])
def test_newline_as_path_write_text(scratch, newline):
    text = "one\ntwo\r\nthree\n"
    # What Path.write_text(text, newline=newline) does (Python >= 3.10).
    with open(scratch / "theirs", "w", encoding="utf-8", newline=newline) as f:
        f.write(text)
    atomic_write_text(scratch / "ours", text, newline=newline)
    assert (scratch / "ours").read_bytes() == (scratch / "theirs").read_bytes()


@pytest.mark.parametrize("errors", ["replace", "ignore", "xmlcharrefreplace", "backslashreplace"])
def test_errors_as_path_write_text(scratch, errors):
    text = "caf\xe9 \u20ac"
    pathlib.Path(scratch / "theirs").write_text(text, encoding="ascii", errors=errors)
    atomic_write_text(scratch / "ours", text, encoding="ascii", errors=errors)
    assert (scratch / "ours").read_bytes() == (scratch / "theirs").read_bytes()
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(scratch / "strict", text, encoding="ascii")
    assert not (scratch / "strict").exists()


# -- the crate's options ------------------------------------------------------


@pytest.mark.parametrize("func", ["text", "bytes", "bytearray"])
def test_one_shot_options(scratch, func):
    def write(path, content, **kw):
        if func == "text":
            return atomic_write_text(path, content, **kw)
        data = content.encode()
        return atomic_write_bytes(path, data if func == "bytes" else bytearray(data), **kw)

    target = scratch / "t"
    assert write(target, "v1") is None
    # exclusive: FileExistsError, the file untouched.
    with pytest.raises(FileExistsError):
        write(target, "v2", exclusive=True)
    assert target.read_text() == "v1"
    # backup: the old file kept as PATH~ (or another suffix).
    assert write(target, "v2", backup=True) is None
    assert (scratch / "t~").read_text() == "v1"
    write(target, "v3", backup=".bak")
    assert (scratch / "t.bak").read_text() == "v2"
    # if_changed: True if replaced, False (and the same inode) if not.
    ino = os.stat(target).st_ino
    assert write(target, "v3", if_changed=True) is False
    assert os.stat(target).st_ino == ino
    assert write(target, "v4", if_changed=True) is True
    assert target.read_text() == "v4"
    # parents: mkdir -p.
    deep = scratch / "a" / "b" / "f"
    with pytest.raises(FileNotFoundError):
        write(deep, "deep")
    write(deep, "deep", parents=True)
    assert deep.read_text() == "deep"
    # follow_symlinks=False replaces the link itself; durable=False still writes.
    (scratch / "link").symlink_to("t")
    write(scratch / "link", "own", follow_symlinks=False, durable=False, preserve_xattrs=False)
    assert not (scratch / "link").is_symlink() and target.read_text() == "v4"
    assert_only(scratch, ["a", "link", "t", "t.bak", "t~"])


@pytest.mark.parametrize("func", ["text", "bytes"])
def test_numbered_backups(scratch, func):
    # backup="numbered" / "existing": PATH.~N~ as cp --backup numbers them;
    # "existing" is simple (PATH~) until PATH has a numbered backup.
    write = atomic_write_text if func == "text" else atomic_write_bytes
    target = scratch / "t"
    target.write_text("v0")
    for i, kind in enumerate(["existing", "numbered", "numbered", "existing"], 1):
        write(target, f"v{i}" if func == "text" else f"v{i}".encode(), backup=kind)
    assert sorted(p.name for p in scratch.iterdir()) == ["t", "t.~1~", "t.~2~", "t.~3~", "t~"]
    assert [(scratch / n).read_text() for n in ["t~", "t.~1~", "t.~2~", "t.~3~", "t"]] == [
        "v0", "v1", "v2", "v3", "v4"
    ]
    (scratch / "t.~3~").rename(scratch / "t.~9~")
    write(target, "v5" if func == "text" else b"v5", backup="numbered")
    assert (scratch / "t.~10~").read_text() == "v4"


@pytest.mark.parametrize("func", ["text", "bytes", "open"])
def test_lock_timeout_argument_checks(scratch, func):
    # Refused before anything touches the disk: a negative or non-finite
    # number (ValueError), a non-number (TypeError).
    def write(**kw):
        if func == "text":
            atomic_write_text(scratch / "t", "x", **kw)
        elif func == "bytes":
            atomic_write_bytes(scratch / "t", b"x", **kw)
        else:
            atomic_write.open(scratch / "t", "a", **kw).discard()

    for bad in (-1, -0.001, float("nan"), float("inf"), float("-inf"), datetime.timedelta(seconds=-1)):
        with pytest.raises(ValueError, match="lock_timeout must be a non-negative finite number"):
            write(lock_timeout=bad)
    for bad in ("1", b"1", True, [1]):
        with pytest.raises(TypeError):
            write(lock_timeout=bad)
    assert_only(scratch, [])
    for good in (None, 0, 0.5, 3, datetime.timedelta(seconds=1), 1e300):
        write(lock_timeout=good, force=True)
    assert_only(scratch, ["t"] if func != "open" else [])
