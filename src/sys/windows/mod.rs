//! The Windows backend: the same functions as [`unix`](../unix/index.html), in
//! Win32 terms.
//!
//! - Directories are opened as handles (`FILE_FLAG_BACKUP_SEMANTICS`); a name
//!   "in" a directory is that handle's final path (`GetFinalPathNameByHandleW`)
//!   joined with the name, so a directory renamed meanwhile is still the one
//!   meant.
//! - The temp is always named (`.NAME.atomic-write-<16 hex>.tmp`, as on Unix),
//!   created with `CREATE_NEW` (exclusive, never through a link) and shared for
//!   reading, writing and deletion, so it can be renamed and removed while
//!   open. It holds a byte-range lock beyond any content (`LockFileEx`) while
//!   its writer lives: what [`sweep`](crate::sweep) checks, as `flock` on Unix.
//! - Syncs are `FlushFileBuffers`. A directory cannot be flushed: the rename
//!   is written through instead (`MOVEFILE_WRITE_THROUGH`), see
//!   [`rename`](fn@rename).
//! - Replacement is `SetFileInformationByHandle(FileRenameInfoEx)` with POSIX
//!   semantics (Windows 10 1809+, NTFS), else `MoveFileExW`; a target held open
//!   by another process is retried with a bounded backoff.
//! - There is no owner to give, no mode but the read-only attribute, no
//!   extended attributes in the Linux sense, and no `syncfs`.
//!
//! Error codes are Win32 codes (`GetLastError`), which is what
//! [`io::Error::raw_os_error`] holds on Windows; [`errno`] names the ones the
//! portable code makes or matches, with the `io::ErrorKind`s the Unix ones have.
//!
//! One concern per module: [`path`] (a name in a directory as a path),
//! [`dir`], [`open`] (opening without following a link), [`meta`]
//! (`GetFileInformationByHandle`, the read-only attribute), [`temp`],
//! [`random`], [`lock`](mod@lock) (`LockFileEx`), [`rename`](mod@rename)
//! (replacement, link, removal), [`sync`] (`FlushFileBuffers`), [`data`],
//! [`xattr`] (none here), [`fork`] (none here), [`errno`]; here what they
//! share.

mod data;
mod dir;
pub(crate) mod errno;
mod fork;
mod lock;
mod meta;
mod open;
mod path;
mod random;
mod rename;
mod sync;
mod temp;
#[cfg(test)]
mod tests;
mod xattr;

use std::io;

pub(crate) use data::{clone_or_copy, read_at};
pub(crate) use dir::{list_dir, mkdir_at, open_dir, open_dir_rel, read_link_at};
pub(crate) use fork::{fork_count, fork_generation};
pub(crate) use lock::{lock, try_lock, try_lock_shared, unlock};
pub(crate) use meta::{chmod, chown_best_effort, euid, fstat, stat_at};
pub(crate) use open::{open_nofollow_at, open_read_nofollow_at};
pub(crate) use rename::{link, rename, rename_noreplace, unlink};
pub(crate) use sync::{
    check_written, start_writeback, sync_dir, sync_file, sync_fs, syncfs_trusted,
};
pub(crate) use temp::{
    create_named_temp, create_temp, is_temp_name, link_unnamed, temp_name, unlinkable,
};
pub(crate) use xattr::{
    get_xattr_of, has_xattr, list_xattrs_of, open_source_at, remove_xattr, set_xattr,
};

/// A kernel link protection (Linux only): never on here.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Protection {
    Symlinks,
    Regular,
}

/// Never on: Windows has no such settings.
pub(crate) fn protection(_which: Protection) -> u32 {
    0
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is not supported on Windows"),
    )
}

/// Whether `e` says a call is not there (`ERROR_CALL_NOT_IMPLEMENTED`); none
/// of the calls that ask is made here.
pub(crate) fn unavailable(e: &io::Error) -> bool {
    e.raw_os_error() == Some(errno::ENOSYS)
}
