import datetime
import io
import os
from typing import Iterable, Literal, Optional, Union, overload

from typing_extensions import Buffer as _Buffer

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

_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

__version__: str

def atomic_write_text(
    path: _Path, data: str, *, encoding: str = "utf-8", mode: Optional[int] = None
) -> None: ...
def atomic_write_bytes(path: _Path, data: _Buffer, *, mode: Optional[int] = None) -> None: ...

class AtomicBinaryFile(io.BufferedWriter):
    def __init__(self, raw: io.FileIO, native: _native.AtomicFile) -> None: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...
    def __enter__(self) -> "AtomicBinaryFile": ...

class AtomicTextFile(io.TextIOWrapper):
    def __init__(
        self, buffer: io.BufferedWriter, native: _native.AtomicFile, encoding: str, newline: Optional[str]
    ) -> None: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...
    def __enter__(self) -> "AtomicTextFile": ...

@overload
def open(
    path: _Path,
    access: Literal["w", "a", "wt", "at", "tw", "ta"] = "w",
    /,
    *,
    encoding: Optional[str] = None,
    newline: Optional[str] = None,
    mode: Optional[int] = None,
    durable: bool = True,
    follow_symlinks: bool = True,
    exclusive: bool = False,
) -> AtomicTextFile: ...
@overload
def open(
    path: _Path,
    access: Literal["wb", "ab", "bw", "ba"],
    /,
    *,
    encoding: None = None,
    newline: None = None,
    mode: Optional[int] = None,
    durable: bool = True,
    follow_symlinks: bool = True,
    exclusive: bool = False,
) -> AtomicBinaryFile: ...
def commit_all(files: Iterable[Union[AtomicTextFile, AtomicBinaryFile]]) -> None: ...
def sweep(dir: _Path, older_than: Union[float, datetime.timedelta] = 3600.0) -> int: ...
