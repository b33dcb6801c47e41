"""The Rust half of atomic_write (private: use the package's functions)."""

import os
from typing import List, Optional, Union, final

__all__ = ["AtomicFile", "commit_all", "create", "sweep", "write"]

_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

@final
class AtomicFile:
    @property
    def done(self) -> bool: ...
    def fileno(self) -> int: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...

def write(
    path: _Path,
    data: bytes,
    mode: Optional[int],
    durable: bool,
    follow_symlinks: bool,
    exclusive: bool,
    append: bool,
) -> None: ...
def create(
    path: _Path, mode: Optional[int], durable: bool, follow_symlinks: bool, exclusive: bool, append: bool
) -> AtomicFile: ...
def commit_all(files: List[AtomicFile]) -> None: ...
def sweep(dir: _Path, older_than: float) -> int: ...
