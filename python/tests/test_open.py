"""atomic_write.open as a context manager and with explicit commit/discard,
commit_all, and sweep."""

from __future__ import annotations

import datetime
import errno
import gc
import inspect
import io
import json
import os
import stat
import time
import warnings

import pytest

import atomic_write

from conftest import assert_only, visible


def test_open_signature():
    # The built-in's parameters first, by name and position; then the options.
    sig = inspect.signature(atomic_write.open)
    assert str(sig) == (
        "(file, mode='w', buffering=-1, encoding=None, errors=None, newline=None, *, "
        "perms=None, durable=True, follow_symlinks=True, preserve_xattrs=True, "
        "backup=False, parents=False, force=False, lock_timeout=None)"
    )
    builtin = list(inspect.signature(open).parameters)[:6]
    assert list(sig.parameters)[:6] == builtin


# Every mode the built-in takes for writing, and what it returns for it.
WRITE_MODES = [
    m + plus
    for base in ("w", "x", "a")
    for m in (base, base + "t", base + "b", "b" + base, "t" + base)
    for plus in ("", "+")
]


@pytest.mark.parametrize("mode", WRITE_MODES)
def test_every_builtin_write_mode(scratch, mode):
    # The same io class underneath, .mode and .name, as the built-in's open;
    # what was written is there after close(), and "+" reads it back before.
    ours_path, theirs_path = scratch / "ours", scratch / "theirs"
    if "a" in mode:
        ours_path.write_bytes(b"old ")
        theirs_path.write_bytes(b"old ")
    binary = "b" in mode
    data = b"new" if binary else "new"
    with open(theirs_path, mode) as theirs:
        f = atomic_write.open(ours_path, mode)
        for cls in (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom, io.FileIO):
            assert isinstance(f, cls) == isinstance(theirs, cls), cls
        assert f.mode == theirs.mode
        assert f.name == str(ours_path)
        assert f.readable() == theirs.readable() == ("+" in mode)
        assert f.writable()
        f.write(data)
        theirs.write(data)
        if "+" in mode:
            f.seek(0)
            theirs.seek(0)
            assert f.read() == theirs.read()
        f.close()
    assert f.closed
    assert ours_path.read_bytes() == theirs_path.read_bytes() == (b"old new" if "a" in mode else b"new")
    assert_only(scratch, ["ours", "theirs"])


def test_name_is_the_file_as_given(scratch, monkeypatch):
    monkeypatch.chdir(scratch)
    for given, name in (("rel", "rel"), (b"bytes", b"bytes"), (scratch / "path", str(scratch / "path"))):
        with atomic_write.open(given, "wb") as f:
            assert f.name == name
        with atomic_write.open(given, "w") as f:
            assert f.name == name


def test_close_commits(scratch):
    # Ported file code: open, write, close -- the write is saved, as with the
    # built-in open (it was silently discarded before).
    target = scratch / "t"
    target.write_text("old")
    f = atomic_write.open(target, "w")
    f.write("saved by close")
    assert target.read_text() == "old"
    f.close()
    assert f.closed
    assert target.read_text() == "saved by close"
    f.close()  # closing again does nothing
    assert target.read_text() == "saved by close"
    g = atomic_write.open(scratch / "b", "wb", buffering=0)
    g.write(b"raw")
    g.close()
    assert (scratch / "b").read_bytes() == b"raw"
    assert_only(scratch, ["b", "t"])


def test_x_on_an_existing_file_leaves_it_untouched(scratch):
    target = scratch / "t"
    target.write_text("old")
    os.chmod(target, 0o640)
    before = os.stat(target)
    for mode in ("x", "xb", "x+", "xt"):
        with pytest.raises(FileExistsError) as e:
            atomic_write.open(target, mode)
        assert e.value.errno == errno.EEXIST and e.value.filename == str(target)
    after = os.stat(target)
    assert (after.st_ino, after.st_mtime_ns, after.st_mode) == (before.st_ino, before.st_mtime_ns, before.st_mode)
    assert target.read_text() == "old"
    # A symlink counts as existing, dangling or not (O_EXCL).
    (scratch / "dangling").symlink_to("nowhere")
    with pytest.raises(FileExistsError):
        atomic_write.open(scratch / "dangling", "x")
    assert_only(scratch, ["dangling", "t"])


def test_buffering_as_the_builtin(scratch):
    # 0: unbuffered (binary only), each write reaches the temp at once.
    f = atomic_write.open(scratch / "raw", "wb", buffering=0)
    assert isinstance(f, io.FileIO) and isinstance(f, atomic_write.AtomicRawFile)
    f.write(b"abc")
    assert os.fstat(f.fileno()).st_size == 3
    f.close()
    # A small buffer spills early; the default one holds a small write.
    f = atomic_write.open(scratch / "small", "wb", buffering=4)
    f.write(b"abcdefgh")
    assert os.fstat(f.fileno()).st_size == 8
    f.discard()
    f = atomic_write.open(scratch / "default", "wb")
    f.write(b"abcdefgh")
    assert os.fstat(f.fileno()).st_size == 0
    f.discard()
    # 1: line buffering in text mode; in binary mode a RuntimeWarning, as the built-in.
    f = atomic_write.open(scratch / "lines", "w", buffering=1)
    assert f.line_buffering
    f.write("one\n")
    assert os.fstat(f.fileno()).st_size == 4
    f.close()
    with pytest.warns(RuntimeWarning, match="line buffering"):
        atomic_write.open(scratch / "b1", "wb", buffering=1).discard()
    with pytest.raises(ValueError, match="unbuffered text"):
        atomic_write.open(scratch / "t0", "w", buffering=0)
    assert_only(scratch, ["lines", "raw"])


def test_errors_and_newline_as_the_builtin(scratch):
    with atomic_write.open(scratch / "t", "w", encoding="ascii", errors="replace", newline="\r\n") as f:
        f.write("caf\xe9\n")
    assert (scratch / "t").read_bytes() == b"caf?\r\n"
    with pytest.raises(UnicodeEncodeError):
        with atomic_write.open(scratch / "t", "w", encoding="ascii") as f:
            f.write("caf\xe9")
            f.flush()
    assert (scratch / "t").read_bytes() == b"caf?\r\n"
    with atomic_write.open(scratch / "t", "w", errors="surrogateescape") as f:
        f.write("\udcff")
    assert (scratch / "t").read_bytes() == b"\xff"
    assert_only(scratch, ["t"])


def test_append_writes_go_to_the_end(scratch):
    # As the built-in's O_APPEND: a seek does not move where "a" writes go.
    (scratch / "log").write_text("one\n")
    with atomic_write.open(scratch / "log", "a+") as f:
        f.seek(0)
        assert f.read() == "one\n"
        f.seek(0)
        f.write("two\n")
    assert (scratch / "log").read_text() == "one\ntwo\n"


def test_open_backup_parents_and_xattrs_options(scratch):
    target = scratch / "t"
    target.write_text("v1")
    with atomic_write.open(target, "w", backup=True) as f:
        f.write("v2")
    assert (scratch / "t~").read_text() == "v1" and target.read_text() == "v2"
    with atomic_write.open(target, "w", backup=".bak") as f:
        f.write("v3")
    assert (scratch / "t.bak").read_text() == "v2"
    deep = scratch / "a" / "b" / "c"
    with pytest.raises(FileNotFoundError):
        atomic_write.open(deep, "w")
    with atomic_write.open(deep, "w", parents=True) as f:
        f.write("deep")
    assert deep.read_text() == "deep"
    with atomic_write.open(target, "w", preserve_xattrs=False) as f:
        f.write("bare")
    assert target.read_text() == "bare"
    assert_only(scratch, ["a", "t", "t.bak", "t~"])


def test_commit_on_clean_exit_nothing_visible_before(scratch):
    target = scratch / "cfg.json"
    target.write_text("old")
    with atomic_write.open(target, "w") as f:
        json.dump({"version": 2}, f)
        f.flush()
        assert target.read_text() == "old"  # nothing visible before the commit
        assert isinstance(f, io.TextIOBase)
    assert f.closed
    assert json.loads(target.read_text()) == {"version": 2}
    assert_only(scratch, ["cfg.json"])


def test_new_file_not_visible_before_commit(scratch):
    with atomic_write.open(scratch / "new", "wb") as f:
        f.write(b"x" * 100_000)
        f.flush()
        assert visible(scratch) == []
    assert (scratch / "new").read_bytes() == b"x" * 100_000


def test_discard_on_exception_no_temp(scratch):
    target = scratch / "t"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write.open(target, "w") as f:
            f.write("half of the new" * 10_000)
            raise RuntimeError("boom")
    assert f.closed
    assert target.read_text() == "old"
    assert_only(scratch, ["t"])
    with pytest.raises(KeyboardInterrupt):
        with atomic_write.open(scratch / "new", "wb") as f:
            f.write(b"data")
            raise KeyboardInterrupt
    assert_only(scratch, ["t"])


def test_discard_with_a_named_temp_leaves_none(scratch):
    # A named temp exists only while committing on Linux; discard before it
    # leaves nothing either way. Many opens and discards, no residue.
    for _ in range(50):
        f = atomic_write.open(scratch / "t", "wb")
        f.write(b"x")
        f.discard()
    assert_only(scratch, [])


def test_binary_and_text_modes(scratch):
    with atomic_write.open(scratch / "b", "wb") as f:
        assert isinstance(f, io.BufferedIOBase)
        f.write(b"\x00\xff")
        f.writelines([b"a", bytearray(b"b"), memoryview(b"c")])
    assert (scratch / "b").read_bytes() == b"\x00\xffabc"
    with atomic_write.open(scratch / "t", "w", encoding="utf-16", newline="\r\n") as f:
        f.writelines(["one\n", "two\n"])
    assert (scratch / "t").read_bytes() == "one\r\ntwo\r\n".encode("utf-16")
    with atomic_write.open(scratch / "u", "wt") as f:  # default encoding: utf-8
        f.write("\u20ac")
    assert (scratch / "u").read_bytes() == b"\xe2\x82\xac"


def test_append_text_and_binary(scratch):
    log = scratch / "log"
    with atomic_write.open(log, "a") as f:  # missing target: starts empty
        f.write("line 1\n")
    with atomic_write.open(log, "a") as f:
        f.write("line 2\n")
        assert log.read_text() == "line 1\n"
    assert log.read_text() == "line 1\nline 2\n"
    with atomic_write.open(log, "ab") as f:
        assert f.tell() == 14
        f.write(b"line 3\n")
    assert log.read_text() == "line 1\nline 2\nline 3\n"
    with pytest.raises(ValueError):
        with atomic_write.open(log, "a") as f:
            f.write("lost\n")
            raise ValueError
    assert log.read_text() == "line 1\nline 2\nline 3\n"


def test_append_utf16_writes_no_second_bom(scratch):
    with atomic_write.open(scratch / "t", "w", encoding="utf-16") as f:
        f.write("a")
    with atomic_write.open(scratch / "t", "a", encoding="utf-16") as f:
        f.write("b")
    assert (scratch / "t").read_bytes().decode("utf-16") == "ab"


def test_explicit_commit_and_discard(scratch):
    target = scratch / "t"
    f = atomic_write.open(target, "w")
    f.write("committed")
    f.commit()
    assert f.closed and target.read_text() == "committed"
    with pytest.raises(ValueError):
        f.commit()
    with pytest.raises(ValueError):
        f.write("more")
    f = atomic_write.open(target, "w")
    f.write("discarded")
    f.discard()
    assert target.read_text() == "committed"
    with pytest.raises(ValueError):
        f.discard()
    # close() commits, as the built-in's close() saves.
    f = atomic_write.open(target, "w")
    f.write("closed")
    f.close()
    assert target.read_text() == "closed"
    # Committing inside `with` is allowed; the exit then does nothing more.
    with atomic_write.open(target, "w") as f:
        f.write("early")
        f.commit()
    assert target.read_text() == "early"
    assert_only(scratch, ["t"])


@pytest.mark.parametrize("mode", ["w", "wb", "w+b", "wb+"])
def test_garbage_collected_file_discards_with_a_warning(scratch, mode):
    (scratch / "t").write_text("old")
    f = atomic_write.open(scratch / "t", mode, **({"buffering": 0} if mode == "wb+" else {}))
    f.write("never committed" if "b" not in mode else b"never committed")
    gc.collect()  # other tests' garbage first
    with pytest.warns(ResourceWarning, match="the write was discarded") as caught:
        del f
        gc.collect()
    # Ours only: not the io module's generic "unclosed file" as well.
    generic = [str(w.message) for w in caught if "unclosed file" in str(w.message)]
    assert [m for m in generic if str(scratch) in m] == []
    assert (scratch / "t").read_text() == "old"
    assert_only(scratch, ["t"])


def test_committed_or_discarded_file_collected_quietly(scratch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = atomic_write.open(scratch / "t", "w")
        f.write("x")
        f.close()
        del f
        g = atomic_write.open(scratch / "u", "w")
        g.discard()
        del g
        gc.collect()
    assert_only(scratch, ["t"])


def test_fileno_flush_and_os_write(scratch):
    with atomic_write.open(scratch / "t", "wb") as f:
        f.write(b"buffered ")
        f.flush()
        os.write(f.fileno(), b"direct")
    assert (scratch / "t").read_bytes() == b"buffered direct"


def test_open_options(scratch):
    target = scratch / "t"
    with atomic_write.open(target, "w", perms=0o600, durable=False) as f:
        f.write("x")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    with atomic_write.open(target, "w", perms=0o4755) as f:
        f.write("x")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o4755
    for bad in (-1, 0o10000):
        with pytest.raises(ValueError, match="0o7777"):
            atomic_write.open(target, "w", perms=bad)
    with pytest.raises(TypeError):
        atomic_write.open(target, "w", perms="644")
    with atomic_write.open(scratch / "excl", "x") as f:
        f.write("first")
    assert (scratch / "excl").read_text() == "first"
    assert_only(scratch, ["excl", "t"])


def test_exclusive_race_at_commit(scratch):
    a = atomic_write.open(scratch / "t", "x")
    b = atomic_write.open(scratch / "t", "x")
    a.write("a")
    b.write("b")
    a.commit()
    with pytest.raises(FileExistsError):
        b.commit()
    assert (scratch / "t").read_text() == "a"
    assert_only(scratch, ["t"])


@pytest.mark.parametrize(
    "args, kwargs, exc",
    [
        (("r",), {}, ValueError),
        (("r+",), {}, ValueError),
        (("rb",), {}, ValueError),
        (("",), {}, ValueError),
        (("U",), {}, ValueError),
        (("w+",), {"newline": "x"}, ValueError),
        (("w",), {"encoding": "rot13"}, LookupError),
        (("w",), {"errors": 1}, TypeError),
        (("w",), {"buffering": "1"}, TypeError),
        (("w",), {"backup": ""}, ValueError),
        (("w",), {"backup": "a/b"}, ValueError),
        (("w",), {"backup": 1}, TypeError),
        (("wa",), {}, ValueError),
        (("wx",), {}, ValueError),
        (("w++",), {}, ValueError),
        (("wbt",), {}, ValueError),
        (("ww",), {}, ValueError),
        (("wb",), {"encoding": "utf-8"}, ValueError),
        (("wb",), {"newline": ""}, ValueError),
        (("wb",), {"errors": "strict"}, ValueError),
        (("w",), {"encoding": "no-such-codec"}, LookupError),
        ((1,), {}, TypeError),
    ],
)
def test_open_bad_arguments_touch_nothing(scratch, args, kwargs, exc):
    with pytest.raises(exc):
        atomic_write.open(scratch / "t", *args, **kwargs)
    assert_only(scratch, [])


def test_open_errors(scratch):
    with pytest.raises(FileNotFoundError) as e:
        atomic_write.open(scratch / "missing" / "t", "w")
    assert e.value.errno == errno.ENOENT
    (scratch / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write.open(scratch / "d", "wb")
    assert_only(scratch, ["d"])


def test_commit_all(scratch):
    files = []
    for i in range(5):
        f = atomic_write.open(scratch / f"part-{i}", "w")
        f.write(f"part {i}\n")
        files.append(f)
    (scratch / "sub").mkdir()
    g = atomic_write.open(scratch / "sub" / "x", "wb")
    g.write(b"x")
    files.append(g)
    assert visible(scratch) == ["sub"]
    atomic_write.commit_all(iter(files))
    assert all(f.closed for f in files)
    assert (scratch / "part-3").read_text() == "part 3\n"
    assert (scratch / "sub" / "x").read_bytes() == b"x"
    assert_only(scratch, [f"part-{i}" for i in range(5)] + ["sub"])
    atomic_write.commit_all([])


def test_commit_all_refuses_what_it_cannot_commit(scratch):
    f = atomic_write.open(scratch / "a", "w")
    with pytest.raises(TypeError):
        atomic_write.commit_all([f, io.StringIO()])
    f.commit()
    with pytest.raises(ValueError):
        atomic_write.commit_all([f])


def test_commit_all_error_before_rename_changes_nothing(scratch):
    (scratch / "a").write_text("old a")
    a = atomic_write.open(scratch / "a", "w")
    b = atomic_write.open(scratch / "b", "x")
    a.write("new a")
    b.write("new b")
    (scratch / "b").write_text("someone else")  # b's exclusive rename fails
    with pytest.raises(FileExistsError):
        atomic_write.commit_all([a, b])
    assert (scratch / "b").read_text() == "someone else"
    assert (scratch / "a").read_text() == "new a"  # renamed before b failed
    assert_only(scratch, ["a", "b"])


def test_sweep(scratch):
    stale = scratch / ".cfg.atomic-write-0123456789abcdef.tmp"
    fresh = scratch / ".new.atomic-write-fedcba9876543210.tmp"
    other = scratch / ".cfg.atomic-write-xyz.tmp"
    for p in (stale, fresh, other):
        p.write_text("x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    assert atomic_write.sweep(scratch) == 1
    assert sorted(os.listdir(scratch)) == sorted([fresh.name, other.name])
    assert atomic_write.sweep(os.fsencode(scratch), older_than=datetime.timedelta(0)) == 1
    assert atomic_write.sweep(scratch, older_than=0) == 0
    assert os.listdir(scratch) == [other.name]
    with pytest.raises(FileNotFoundError) as e:
        atomic_write.sweep(scratch / "missing")
    assert e.value.filename == str(scratch / "missing")
    with pytest.raises(ValueError):
        atomic_write.sweep(scratch, older_than=-1)


def test_commit_all_same_file_twice_discards_nothing(scratch):
    # Refused before anything is taken: the file is still open and commits.
    f = atomic_write.open(scratch / "a", "w")
    f.write("kept")
    g = atomic_write.open(scratch / "b", "w")
    with pytest.raises(ValueError, match="twice"):
        atomic_write.commit_all([f, g, f])
    assert not f.closed and not g.closed
    f.write(" and committed")
    atomic_write.commit_all([f, g])
    assert (scratch / "a").read_text() == "kept and committed"
    assert_only(scratch, ["a", "b"])


def test_native_commit_all_refuses_a_file_twice(scratch):
    # The extension's own check, for callers of _native: nothing is taken.
    from atomic_write import _native

    opts = dict(mode=None, durable=False, follow_symlinks=True, exclusive=False, append=False,
                preserve_xattrs=True, backup=None, parents=False)
    f = _native.create(scratch / "a", opts)
    done = _native.create(scratch / "b", opts)
    done.discard()
    with pytest.raises(ValueError, match="twice"):
        _native.commit_all([f, f])
    with pytest.raises(ValueError, match="already"):
        _native.commit_all([f, done])
    assert not f.done
    f.commit()
    assert (scratch / "a").read_bytes() == b""
