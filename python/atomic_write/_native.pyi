"""The Rust half of atomic_write (private: use the package's functions)."""

import os
from typing import List, NotRequired, Optional, TypedDict, Union, final

__all__ = ["AtomicFile", "cli_main", "commit_all", "create", "sweep", "write"]

_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

class _Opts(TypedDict):
    mode: Optional[int]
    durable: bool
    follow_symlinks: bool
    exclusive: bool
    append: bool
    preserve_xattrs: bool
    backup: Optional[str]
    backup_kind: NotRequired[str]
    parents: bool
    force: NotRequired[bool]
    lock_timeout: NotRequired[Optional[float]]

@final
class AtomicFile:
    @property
    def done(self) -> bool: ...
    def fileno(self) -> int: ...
    def commit(self, if_changed: bool = False) -> bool: ...
    def discard(self) -> None: ...

def write(path: _Path, data: bytes, opts: _Opts, if_changed: bool) -> bool: ...
def create(path: _Path, opts: _Opts) -> AtomicFile: ...
def commit_all(files: List[AtomicFile]) -> None: ...
def sweep(dir: _Path, older_than: float) -> int: ...
def cli_main(argv: List[Union[str, bytes]]) -> int: ...
