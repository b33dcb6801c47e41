import datetime
import io
import os
from types import TracebackType
from typing import Iterable, Literal, Optional, Type, Union, overload

from typing_extensions import Buffer as _Buffer

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

_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
# True (PATH~), a suffix, or "numbered" / "existing" (PATH.~N~ as cp numbers them).
_Backup = Union[bool, str]
# lock_timeout: seconds, or None for the library's default.
_Seconds = Union[float, datetime.timedelta, None]

# The built-in's write modes (typeshed's spelling), in text and binary.
_TextMode = Literal[
    "w", "wt", "tw", "x", "xt", "tx", "a", "at", "ta",
    "w+", "+w", "wt+", "w+t", "+wt", "tw+", "t+w", "+tw",
    "x+", "+x", "xt+", "x+t", "+xt", "tx+", "t+x", "+tx",
    "a+", "+a", "at+", "a+t", "+at", "ta+", "t+a", "+ta",
]  # fmt: skip
_BinaryWritingMode = Literal["wb", "bw", "xb", "bx", "ab", "ba"]
_BinaryUpdatingMode = Literal[
    "wb+", "w+b", "+wb", "bw+", "b+w", "+bw",
    "xb+", "x+b", "+xb", "bx+", "b+x", "+bx",
    "ab+", "a+b", "+ab", "ba+", "b+a", "+ba",
]  # fmt: skip

__version__: str

def atomic_write_text(
    path: _Path,
    data: str,
    *,
    encoding: str = "utf-8",
    errors: str = "strict",
    newline: Optional[str] = None,
    mode: Optional[int] = None,
    durable: bool = True,
    exclusive: bool = False,
    follow_symlinks: bool = True,
    preserve_xattrs: bool = True,
    backup: _Backup = False,
    parents: bool = False,
    if_changed: bool = False,
    force: bool = False,
    lock_timeout: _Seconds = None,
) -> Optional[bool]: ...
def atomic_write_bytes(
    path: _Path,
    data: _Buffer,
    *,
    mode: Optional[int] = None,
    durable: bool = True,
    exclusive: bool = False,
    follow_symlinks: bool = True,
    preserve_xattrs: bool = True,
    backup: _Backup = False,
    parents: bool = False,
    if_changed: bool = False,
    force: bool = False,
    lock_timeout: _Seconds = None,
) -> Optional[bool]: ...

class _Atomic:
    def commit(self) -> None: ...
    def discard(self) -> None: ...
    def close(self) -> None: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...
    def __del__(self) -> None: ...

class AtomicTextFile(_Atomic, io.TextIOWrapper):
    def __enter__(self) -> "AtomicTextFile": ...

class AtomicBinaryFile(_Atomic, io.BufferedWriter):
    def __enter__(self) -> "AtomicBinaryFile": ...

class AtomicRandomFile(_Atomic, io.BufferedRandom):
    def __enter__(self) -> "AtomicRandomFile": ...

class AtomicRawFile(_Atomic, io.FileIO):
    def __enter__(self) -> "AtomicRawFile": ...

@overload
def open(
    file: _Path,
    mode: _TextMode = "w",
    buffering: int = -1,
    encoding: Optional[str] = None,
    errors: Optional[str] = None,
    newline: Optional[str] = None,
    *,
    perms: Optional[int] = None,
    durable: bool = True,
    follow_symlinks: bool = True,
    preserve_xattrs: bool = True,
    backup: _Backup = False,
    parents: bool = False,
    force: bool = False,
    lock_timeout: _Seconds = None,
) -> AtomicTextFile: ...
@overload
def open(
    file: _Path,
    mode: Union[_BinaryWritingMode, _BinaryUpdatingMode],
    buffering: Literal[0],
    encoding: None = None,
    errors: None = None,
    newline: None = None,
    *,
    perms: Optional[int] = None,
    durable: bool = True,
    follow_symlinks: bool = True,
    preserve_xattrs: bool = True,
    backup: _Backup = False,
    parents: bool = False,
    force: bool = False,
    lock_timeout: _Seconds = None,
) -> AtomicRawFile: ...
@overload
def open(
    file: _Path,
    mode: _BinaryWritingMode,
    buffering: Literal[-1, 1] = -1,
    encoding: None = None,
    errors: None = None,
    newline: None = None,
    *,
    perms: Optional[int] = None,
    durable: bool = True,
    follow_symlinks: bool = True,
    preserve_xattrs: bool = True,
    backup: _Backup = False,
    parents: bool = False,
    force: bool = False,
    lock_timeout: _Seconds = None,
) -> AtomicBinaryFile: ...
@overload
def open(
    file: _Path,
    mode: _BinaryUpdatingMode,
    buffering: Literal[-1, 1] = -1,
    encoding: None = None,
    errors: None = None,
    newline: None = None,
    *,
    perms: Optional[int] = None,
    durable: bool = True,
    follow_symlinks: bool = True,
    preserve_xattrs: bool = True,
    backup: _Backup = False,
    parents: bool = False,
    force: bool = False,
    lock_timeout: _Seconds = None,
) -> AtomicRandomFile: ...
@overload
def open(
    file: _Path,
    mode: Union[_BinaryWritingMode, _BinaryUpdatingMode],
    buffering: int = -1,
    encoding: None = None,
    errors: None = None,
    newline: None = None,
    *,
    perms: Optional[int] = None,
    durable: bool = True,
    follow_symlinks: bool = True,
    preserve_xattrs: bool = True,
    backup: _Backup = False,
    parents: bool = False,
    force: bool = False,
    lock_timeout: _Seconds = None,
) -> Union[AtomicBinaryFile, AtomicRandomFile, AtomicRawFile]: ...
@overload
def open(
    file: _Path,
    mode: str,
    buffering: int = -1,
    encoding: Optional[str] = None,
    errors: Optional[str] = None,
    newline: Optional[str] = None,
    *,
    perms: Optional[int] = None,
    durable: bool = True,
    follow_symlinks: bool = True,
    preserve_xattrs: bool = True,
    backup: _Backup = False,
    parents: bool = False,
    force: bool = False,
    lock_timeout: _Seconds = None,
) -> Union[AtomicTextFile, AtomicBinaryFile, AtomicRandomFile, AtomicRawFile]: ...
def commit_all(files: Iterable[Union[AtomicTextFile, AtomicBinaryFile, AtomicRandomFile, AtomicRawFile]]) -> None: ...
def sweep(dir: _Path, older_than: Union[float, datetime.timedelta] = 3600.0) -> int: ...
