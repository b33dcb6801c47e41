//! The one place that says `cfg(...)`: picks the platform's implementation.
//!
//! Every implementation exposes the same functions; the modules above call
//! them without knowing which one they got. Linux adds unnamed `O_TMPFILE` temps, `linkat` and
//! `renameat2`; everything else (and Linux's fallback) is in [`unix`]. Windows
//! has its own ([`windows`]), in Win32 terms. [`errno`] names the OS error codes
//! the portable code makes and matches: `libc`'s on Unix, Win32's on Windows.

#[cfg(not(any(unix, windows)))]
compile_error!(
    "atomic-write supports Unix and Windows only: its durability guarantees have not been verified on this platform"
);

#[cfg(unix)]
pub(crate) mod unix;

#[cfg(target_os = "linux")]
mod linux;

#[cfg(windows)]
mod windows;

// Whether the caller may write a file; a directory's real path.
#[cfg(target_os = "linux")]
mod access_linux;
#[cfg(all(unix, not(target_os = "linux")))]
mod access_unix;
#[cfg(windows)]
mod access_windows;
#[cfg(target_os = "linux")]
pub(crate) use access_linux::{dir_real_path, may_write};
#[cfg(all(unix, not(target_os = "linux")))]
pub(crate) use access_unix::{dir_real_path, may_write};
#[cfg(windows)]
pub(crate) use access_windows::{dir_real_path, may_write};

#[cfg(target_os = "linux")]
pub(crate) use linux::{
    check_written, clone_or_copy, create_temp, fill_random, get_xattr_of, has_xattr, link_unnamed,
    list_dir, list_xattrs_at, list_xattrs_of, open_dir_path, open_source_at, protection,
    remove_xattr, rename_noreplace, set_xattr, start_writeback, sync_fs, syncfs_trusted,
    unavailable, unlinkable,
};

#[cfg(all(unix, not(target_os = "linux")))]
pub(crate) use unix::{
    check_written, clone_or_copy, create_temp, fill_random, get_xattr_of, has_xattr, link_unnamed,
    list_dir, list_xattrs_at, list_xattrs_of, open_dir_path, open_source_at, protection,
    remove_xattr, rename_noreplace, set_xattr, start_writeback, sync_fs, syncfs_trusted,
    unavailable, unlinkable,
};

#[cfg(unix)]
pub(crate) use unix::{
    chmod, chown_best_effort, create_named_temp, euid, fork_count, fork_generation, fstat,
    is_temp_name, link, lock, mkdir_at, open_dir, open_dir_rel, open_nofollow_at,
    open_read_nofollow_at, read_at, read_link_at, rename, stat_at, sync_dir, sync_file, temp_name,
    try_lock, try_lock_shared, unlink, unlock, Protection,
};

#[cfg(all(feature = "cli", target_os = "linux"))]
pub(crate) use linux::read_nowait;
#[cfg(all(feature = "cli", unix, not(target_os = "linux")))]
pub(crate) use unix::read_nowait;

/// The OS error codes (`errno` values) the portable code makes and matches.
#[cfg(unix)]
pub(crate) mod errno {
    /// A missing extended attribute: `ENOATTR` where the system has no
    /// `ENODATA` for it (macOS, the BSDs).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) use libc::ENOATTR as ENODATA;
    pub(crate) use libc::*;
}

#[cfg(windows)]
pub(crate) use windows::{
    check_written, chmod, chown_best_effort, clone_or_copy, create_named_temp, create_temp, errno,
    euid, fork_count, fork_generation, fstat, get_xattr_of, has_xattr, is_temp_name, link,
    link_unnamed, list_dir, list_xattrs_of, lock, mkdir_at, open_dir, open_dir_rel,
    open_nofollow_at, open_read_nofollow_at, open_source_at, protection, read_at, read_link_at,
    remove_xattr, rename, rename_noreplace, set_xattr, start_writeback, stat_at, sync_dir,
    sync_file, sync_fs, syncfs_trusted, temp_name, try_lock, try_lock_shared, unavailable, unlink,
    unlinkable, unlock, Protection,
};

/// Whether a file can be renamed over while this process holds it open and
/// locked: on Unix; not on Windows, where the open handle makes the rename
/// fail (`ERROR_ACCESS_DENIED` without POSIX semantics). Writers with backups
/// take turns on the target's lock only where it can (see `backup_name`).
pub(crate) const REPLACE_WHILE_LOCKED: bool = cfg!(unix);

/// A temp file and, once it has one, its name in the target's directory.
#[derive(Debug)]
pub(crate) struct Temp {
    pub(crate) file: std::fs::File,
    /// `None` while the file is unnamed (`O_TMPFILE`, Linux only).
    pub(crate) name: Option<std::ffi::OsString>,
}

/// What kind of file sits at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Regular,
    Directory,
    Symlink,
    /// FIFO, socket, character or block device; on Windows a reparse point
    /// other than a symlink, or a device.
    Special,
}

/// The metadata a write preserves, in Unix terms on every system (on
/// Windows `mode` is `0o444` for a read-only file and `0o666` otherwise, and
/// owner and group are always 0).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub(crate) kind: FileKind,
    /// Permission bits including setuid, setgid and sticky.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    /// The file's identity: device and inode (on Windows the volume serial
    /// number and the file index).
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Hard links: 0 for an unnamed or removed file (on Windows, one pending
    /// deletion).
    pub(crate) nlink: u64,
    /// Last modification.
    pub(crate) mtime: std::time::SystemTime,
}
