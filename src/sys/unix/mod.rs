//! The portable Unix path: named temp files, `fsync`, `renameat`, directory `fsync`.
//!
//! This is what every Unix system uses, and what Linux falls back to where
//! `O_TMPFILE` is refused (some FUSE, NFS, old overlayfs). Syscalls only: each
//! `unsafe` block holds one call and says why it is sound.
//!
//! One concern per module: [`dir`] (opening, listing and creating
//! directories), [`open`] (opening a name without following it), [`meta`]
//! (`stat`, owner, mode), [`temp`] (temp names and the named temp),
//! [`random`], [`lock`](mod@lock) (`flock`), [`rename`](mod@rename) (rename,
//! link, unlink), [`sync`] (`fsync`), [`data`] (reading and copying data),
//! [`xattr`] (extended attributes: none here), [`fork`] (counting forks);
//! here the helpers they share.

mod cname;
mod data;
mod dir;
mod fork;
mod lock;
mod meta;
mod open;
mod random;
mod rename;
mod sync;
mod temp;
mod xattr;

use std::io;

pub(crate) use cname::cstr;
#[cfg(all(feature = "cli", not(target_os = "linux")))]
pub(crate) use data::read_nowait;
pub(crate) use data::{clone_or_copy, read_at};
pub(crate) use dir::{mkdir_at, open_dir, open_dir_rel, read_link_at};
pub(crate) use fork::{fork_count, fork_generation};
pub(crate) use lock::{lock, try_lock, try_lock_shared, unlock};
pub(crate) use meta::{chmod, chown_best_effort, euid, fstat, stat_at};
pub(crate) use open::{open_nofollow_at, open_read_nofollow_at};
pub(crate) use random::fill_random;
pub(crate) use rename::{link, rename, rename_noreplace, unlink};
pub(crate) use sync::{sync_dir, sync_file};
pub(crate) use temp::{create_named_temp, is_temp_name, temp_name};

// Linux has its own of these.
#[cfg(not(target_os = "linux"))]
pub(crate) use dir::{list_dir, open_dir_path};
#[cfg(not(target_os = "linux"))]
pub(crate) use sync::{check_written, start_writeback, sync_fs, syncfs_trusted};
#[cfg(not(target_os = "linux"))]
pub(crate) use temp::{create_temp, link_unnamed, unlinkable};
#[cfg(not(target_os = "linux"))]
pub(crate) use xattr::{
    get_xattr_of, has_xattr, list_xattrs_at, list_xattrs_of, open_source_at, remove_xattr,
    set_xattr,
};

/// Retries a syscall wrapper while it fails with `EINTR`.
pub(crate) fn cvt_r(mut f: impl FnMut() -> libc::c_int) -> io::Result<libc::c_int> {
    loop {
        let r = f();
        if r != -1 {
            return Ok(r);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// A kernel link protection the crate applies when it follows a link itself.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Protection {
    /// `fs.protected_symlinks`.
    Symlinks,
    /// `fs.protected_regular`.
    Regular,
}

/// The portable path knows no such kernel setting: off.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn protection(_which: Protection) -> u32 {
    0
}

/// Whether `e` says a system call is not there for this process (`ENOSYS`,
/// or `EPERM` from a sandbox). Linux has its own list of such calls; here
/// none of the calls that ask is made.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn unavailable(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM))
}
