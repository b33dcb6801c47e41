"""The type stubs match the runtime (mypy's stubtest) and type-check the
documented uses."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from conftest import missing

USES = """
import datetime, json, pathlib
from typing import Optional
import atomic_write
from atomic_write import atomic_write_bytes, atomic_write_text

atomic_write_text("config.json", '{"version": 2}\\n')
atomic_write_text(pathlib.Path("t"), "x", encoding="latin-1", mode=0o644)
atomic_write_text("t", "x", errors="replace", newline="\\r\\n", durable=False, exclusive=True)
changed: Optional[bool] = atomic_write_text("t", "x", backup=".bak", parents=True, if_changed=True)
atomic_write_bytes(b"blob.dat", memoryview(b"\\x00\\x01\\x02"))
atomic_write_bytes("blob", bytearray(b"x"), mode=0o600, backup=True, preserve_xattrs=False, follow_symlinks=False)
with atomic_write.open("cfg.json", "w") as f:
    json.dump({"version": 2}, f)
    text: atomic_write.AtomicTextFile = f
with atomic_write.open("cfg.json", "x+", encoding="utf-8", errors="strict", newline="") as f2:
    f2.write("x")
    f2.seek(0)
    back: str = f2.read()
with atomic_write.open("blob", "ab", perms=0o600, durable=False) as b:
    binary: atomic_write.AtomicBinaryFile = b
    b.write(b"x")
with atomic_write.open("blob", "wb+") as r:
    rand: atomic_write.AtomicRandomFile = r
    r.write(b"x")
raw: atomic_write.AtomicRawFile = atomic_write.open("blob", "wb", buffering=0)
raw.write(b"x")
raw.close()
g = atomic_write.open("log", "a", 1, backup=True, parents=True, preserve_xattrs=False, follow_symlinks=False)
g.write("line\\n")
g.discard()
h = atomic_write.open("t", "w")
h.commit()
atomic_write.commit_all([atomic_write.open("a", "wb"), atomic_write.open("b", "w")])
removed: int = atomic_write.sweep(".", older_than=60)
atomic_write_text("t", "x", force=True, backup=True, lock_timeout=0.5)
atomic_write_bytes("blob", b"x", force=False, lock_timeout=None)
with atomic_write.open("log", "a", force=True, lock_timeout=datetime.timedelta(seconds=2)) as lg:
    lg.write("line\\n")
"""


def require_mypy():
    if importlib.util.find_spec("mypy") is None:
        missing("mypy (pip install mypy)")


def test_stubtest():
    require_mypy()
    out = subprocess.run([sys.executable, "-m", "mypy.stubtest", "atomic_write"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_documented_uses_type_check(tmp_path):
    require_mypy()
    (tmp_path / "uses.py").write_text(USES)
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "uses.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
