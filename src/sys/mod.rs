//! The one place that says `cfg(...)`: picks the platform's implementation.
//!
//! Both implementations expose the same functions; `file.rs` calls them without
//! knowing which one it got. Linux adds unnamed `O_TMPFILE` temps, `linkat` and
//! `renameat2`; everything else (and Linux's fallback) is in [`unix`].

#[cfg(not(unix))]
compile_error!(
    "atomic-write supports Unix only for now: its durability guarantees have not been verified on this platform"
);

pub(crate) mod unix;

#[cfg(target_os = "linux")]
mod linux;

#[cfg(target_os = "linux")]
pub(crate) use linux::{
    check_written, clone_or_copy, create_temp, fill_random, get_xattr_of, has_xattr, link_unnamed,
    list_dir, list_xattrs_of, open_dir_path, open_source_at, protection, remove_xattr,
    rename_noreplace, set_xattr, start_writeback, sync_fs, syncfs_trusted, unavailable, unlinkable,
};

#[cfg(not(target_os = "linux"))]
pub(crate) use unix::{
    check_written, clone_or_copy, create_temp, fill_random, get_xattr_of, has_xattr, link_unnamed,
    list_dir, list_xattrs_of, open_dir_path, open_source_at, protection, remove_xattr,
    rename_noreplace, set_xattr, start_writeback, sync_fs, syncfs_trusted, unavailable, unlinkable,
};

pub(crate) use unix::{
    chmod, chown_best_effort, create_named_temp, euid, fork_count, fstat, is_temp_name, link, lock,
    mkdir_at, open_dir, open_dir_rel, open_nofollow_at, open_read_nofollow_at, read_link_at,
    rename, stat_at, sync_dir, sync_file, temp_name, try_lock, try_lock_shared, unlink, unlock,
    FileKind, Meta, Protection, Temp,
};
