//! Durability for a batch: `syncfs` where the filesystem makes it as good as
//! an `fsync` of each file, and `sync_file_range` to start and check the
//! writeback.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use super::kernel::kernel_version;
use super::{unavailable, Missing};
use crate::sys::unix::{self, cvt_r};

/// Filesystems whose `syncfs` makes every file's data and metadata durable, as
/// an `fsync` of each would: ext4 and ext3 served by the ext4 driver (journal
/// commit, and a cache flush even without a journal), xfs (log force), btrfs
/// (transaction commit), and tmpfs (nothing to sync). Not ext2: its driver's
/// `sync_fs` writes the superblock but flushes no drive cache, and ext2 shares
/// ext4's magic number, so [`syncfs_trusted`] tells them apart by the mount's
/// type. Elsewhere (FUSE without `FUSE_SYNCFS`, network filesystems, …)
/// `syncfs` may do less, and callers sync file by file.
#[allow(clippy::unnecessary_cast)] // the constants' type differs between targets
const SYNCFS_TRUSTED: [i64; 4] = [
    libc::EXT4_SUPER_MAGIC as i64,
    libc::XFS_SUPER_MAGIC as i64,
    libc::BTRFS_SUPER_MAGIC as i64,
    libc::TMPFS_MAGIC as i64,
];

/// Whether `syncfs` of the filesystem holding `dir` makes the files on it as
/// durable as an `fsync` of each, and reports it when it does not:
///
/// - the kernel reports `sync_fs` errors (Linux 5.17, "vfs: make
///   sync_filesystem return errors from ->sync_fs"; before it a failed journal
///   commit, log force or cache flush left `syncfs` returning 0), unless
///   `any_kernel` (for tests and benchmarks of the path on any kernel);
/// - the filesystem is one of [`SYNCFS_TRUSTED`], and for the ext magic the
///   mount is ext3 or ext4, not ext2 (read from `/proc/self/mountinfo`; if
///   that cannot be read, not trusted).
pub(crate) fn syncfs_trusted(dir: &File, any_kernel: bool) -> io::Result<bool> {
    if NO_SYNCFS.get() || (!any_kernel && kernel_version() < (5, 17)) {
        return Ok(false);
    }
    // SAFETY: all-zero bytes are a valid `struct statfs`.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `dir` is an open fd and `st` a valid out-pointer.
    cvt_r(|| unsafe { libc::fstatfs(dir.as_raw_fd(), &mut st) })?;
    #[allow(clippy::useless_conversion)] // `f_type`'s type differs between targets
    let f_type = i64::from(st.f_type);
    if !SYNCFS_TRUSTED.contains(&f_type) {
        return Ok(false);
    }
    #[allow(clippy::unnecessary_cast)]
    if f_type == libc::EXT4_SUPER_MAGIC as i64 {
        let dev = unix::fstat(dir)?.dev;
        return Ok(matches!(mount_type(dev).as_deref(), Some("ext4" | "ext3")));
    }
    Ok(true)
}

/// The type of the filesystem mounted from device `dev`, from
/// `/proc/self/mountinfo` (`ID PARENT MAJOR:MINOR ROOT POINT OPTS ... - TYPE ...`).
fn mount_type(dev: u64) -> Option<String> {
    let want = format!("{}:{}", libc::major(dev), libc::minor(dev));
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let mut f = l.split(' ');
        if f.nth(2)? != want {
            return None;
        }
        let (_, after) = l.split_once(" - ")?;
        after.split(' ').next().map(str::to_owned)
    })
}

/// `syncfs` answered `ENOSYS` or `EPERM` (a sandbox): from then on no
/// filesystem is [`syncfs_trusted`], and files are synced one by one.
static NO_SYNCFS: Missing = Missing::new();

/// `syncfs(2)` of the filesystem holding `dir` (any descriptor on it but an
/// `O_PATH` one); only where [`syncfs_trusted`]. Where the call is not there
/// ([`unavailable`]: remembered), the error says so and the caller syncs
/// file by file instead where it can.
pub(crate) fn sync_fs(dir: &File) -> io::Result<()> {
    // SAFETY: `dir` is an open fd.
    let r = cvt_r(|| unsafe { libc::syncfs(dir.as_raw_fd()) }).map(drop);
    if matches!(&r, Err(e) if unavailable(e)) {
        NO_SYNCFS.set();
    }
    r
}

/// `sync_file_range` answered `ENOSYS` or `EPERM` (a sandbox): writeback is
/// not started ahead, and [`check_written`] is a full `fsync`.
static NO_SYNC_FILE_RANGE: Missing = Missing::new();

/// `sync_file_range(SYNC_FILE_RANGE_WRITE)` over the whole file: starts the
/// writeback of its dirty pages and returns without waiting, so that the
/// `fsync`s that follow, one per file, find the data of the whole batch on its
/// way and (on ext4 and xfs) the shared journal commit done by the first.
///
/// A hint only: where the call is not there, nothing (the `fsync`s do it all).
pub(crate) fn start_writeback(file: &File) -> io::Result<()> {
    if NO_SYNC_FILE_RANGE.get() {
        return Ok(());
    }
    // SAFETY: `file` is an open fd; offset 0 and length 0 mean the whole file.
    let r = cvt_r(|| unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE)
    });
    match r {
        Ok(_) => Ok(()),
        Err(e) if unavailable(&e) => {
            NO_SYNC_FILE_RANGE.set();
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// After [`sync_fs`]: `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)` over
/// the whole file writes anything still dirty and, through the file's error
/// sequence, reports a writeback error since the file was opened, even on
/// kernels before 5.8 whose `syncfs` did not. No journal commit, no cache flush.
/// Where the call is not there, a full `fsync` of the file, which reports the
/// same errors.
pub(crate) fn check_written(file: &File) -> io::Result<()> {
    if NO_SYNC_FILE_RANGE.get() {
        return unix::sync_file(file);
    }
    let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
        | libc::SYNC_FILE_RANGE_WRITE
        | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    // SAFETY: `file` is an open fd; offset 0 and length 0 mean the whole file.
    match cvt_r(|| unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, flags) }) {
        Ok(_) => Ok(()),
        Err(e) if unavailable(&e) => {
            NO_SYNC_FILE_RANGE.set();
            unix::sync_file(file)
        }
        Err(e) => Err(e),
    }
}
