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
    check_written, clone_or_copy, create_temp, fill_random, link_unnamed, open_dir_path,
    protection, rename_noreplace, sync_fs, syncfs_trusted,
};

#[cfg(not(target_os = "linux"))]
pub(crate) use unix::{
    check_written, clone_or_copy, create_temp, fill_random, link_unnamed, open_dir_path,
    protection, rename_noreplace, sync_fs, syncfs_trusted,
};

pub(crate) use unix::{
    chmod, chown_best_effort, euid, fstat, is_temp_name, lock_exclusive, open_dir, open_dir_at,
    open_nofollow_at, read_link_at, rename, stat_at, sync_dir, sync_file, temp_name, unlink,
    FileKind, Meta, Protection, Temp,
};
