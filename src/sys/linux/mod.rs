//! Linux: unnamed `O_TMPFILE` temps, `linkat` to name them, `renameat2` for
//! `no_clobber`, `FICLONE` for reflinked appends. Falls back to [`super::unix`]
//! where the filesystem refuses. Syscalls only: each `unsafe` block holds one
//! call and says why it is sound.
//!
//! One concern per module: [`tmpfile`] (the unnamed temp and its name at
//! commit), [`rename`] (`renameat2`), [`sync`] (`syncfs`, `sync_file_range`),
//! [`xattr`] (extended attributes), [`dir`] (`O_PATH` directories,
//! `getdents64`), [`data`] (`FICLONE`), [`random`] (`getrandom`), [`kernel`]
//! (the running kernel: version, link protections); here what
//! they share: which calls are not there.

mod data;
mod dir;
mod kernel;
mod random;
mod rename;
mod sync;
mod tmpfile;
mod xattr;

use std::io;

pub(crate) use data::clone_or_copy;
#[cfg(feature = "cli")]
pub(crate) use data::read_nowait;
pub(crate) use dir::{list_dir, open_dir_path};
pub(crate) use kernel::protection;
pub(crate) use random::fill_random;
pub(crate) use rename::rename_noreplace;
pub(crate) use sync::{check_written, start_writeback, sync_fs, syncfs_trusted};
pub(crate) use tmpfile::{create_temp, link_unnamed, unlinkable};
pub(crate) use xattr::{
    get_xattr_of, has_xattr, list_xattrs_at, list_xattrs_of, open_source_at, remove_xattr,
    set_xattr,
};

/// Whether `e` says that a system call is not there for this process: `ENOSYS`
/// (a kernel without it, or a seccomp filter answering so) or `EPERM` (what
/// many sandbox profiles — older Docker and containerd ones, systemd
/// `SystemCallFilter=`, Flatpak — answer for a call they do not know). Every
/// call newer than the oldest supported kernel falls back on both, as std
/// does for `statx` and `copy_file_range`.
pub(crate) fn unavailable(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM))
}

/// A process-wide "this call is not there" (`ENOSYS`/`EPERM` from a kernel or
/// a sandbox, which answers the same for every file), remembered so the call
/// is not tried again. Never used for answers a filesystem gives.
struct Missing(std::sync::atomic::AtomicBool);

impl Missing {
    const fn new() -> Missing {
        Missing(std::sync::atomic::AtomicBool::new(false))
    }
    fn get(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
