"""atomic_write.open as a context manager and with explicit commit/discard,
commit_all, and sweep."""

from __future__ import annotations

import datetime
import errno
import inspect
import io
import json
import os
import stat
import time

import pytest

import atomic_write

from conftest import assert_only, visible


def test_open_signature():
    sig = inspect.signature(atomic_write.open)
    assert str(sig) == (
        "(path, access='w', /, *, encoding=None, newline=None, mode=None, "
        "durable=True, follow_symlinks=True, exclusive=False)"
    )


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
    # close() without commit() discards, as leaving `with` by an exception does.
    f = atomic_write.open(target, "w")
    f.write("closed")
    f.close()
    assert target.read_text() == "committed"
    # Committing inside `with` is allowed; the exit then does nothing more.
    with atomic_write.open(target, "w") as f:
        f.write("early")
        f.commit()
    assert target.read_text() == "early"
    assert_only(scratch, ["t"])


def test_garbage_collected_file_discards(scratch):
    f = atomic_write.open(scratch / "t", "w")
    f.write("never committed")
    del f
    assert_only(scratch, [])


def test_fileno_flush_and_os_write(scratch):
    with atomic_write.open(scratch / "t", "wb") as f:
        f.write(b"buffered ")
        f.flush()
        os.write(f.fileno(), b"direct")
    assert (scratch / "t").read_bytes() == b"buffered direct"


def test_open_options(scratch):
    target = scratch / "t"
    with atomic_write.open(target, "w", mode=0o600, durable=False) as f:
        f.write("x")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    with pytest.raises(FileExistsError) as e:
        atomic_write.open(target, "w", exclusive=True)
    assert e.value.errno == errno.EEXIST and e.value.filename == str(target)
    with atomic_write.open(scratch / "excl", "w", exclusive=True) as f:
        f.write("first")
    assert (scratch / "excl").read_text() == "first"
    assert_only(scratch, ["excl", "t"])


def test_exclusive_race_at_commit(scratch):
    a = atomic_write.open(scratch / "t", "w", exclusive=True)
    b = atomic_write.open(scratch / "t", "w", exclusive=True)
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
        (("w+",), {}, ValueError),
        (("wa",), {}, ValueError),
        (("wbt",), {}, ValueError),
        (("ww",), {}, ValueError),
        (("wb",), {"encoding": "utf-8"}, ValueError),
        (("wb",), {"newline": ""}, ValueError),
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
    b = atomic_write.open(scratch / "b", "w", exclusive=True)
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
