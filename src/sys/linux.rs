//! Linux: unnamed `O_TMPFILE` temps, `linkat` to name them, `renameat2` for
//! `no_clobber`, `FICLONE` for reflinked appends. Falls back to [`super::unix`]
//! where the filesystem refuses. Syscalls only: each `unsafe` block holds one
//! call and says why it is sound.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

use super::unix::{self, cvt_r, Protection, Temp};

/// Environment variable that makes every write use the named-temp fallback, as
/// on a filesystem without `O_TMPFILE`. For tests of that path on Linux.
const FORCE_NAMED_ENV: &str = "ATOMIC_WRITE_NO_TMPFILE";

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file name contains a NUL byte"))
}

/// Creates the temp: unnamed (`O_TMPFILE`) where the filesystem supports it,
/// else named. `mode` are the permission bits (the umask applies on top).
pub(crate) fn create_temp(
    dir: &File,
    target: &OsStr,
    mode: u32,
    owner_only: bool,
    force_named: bool,
) -> io::Result<Temp> {
    let named_mode = if owner_only { mode & 0o600 } else { mode };
    if force_named
        || std::env::var_os(FORCE_NAMED_ENV).is_some_and(|v| v != "0")
        || !unnamed_linkable()
    {
        return unix::create_named_temp(dir, target, named_mode);
    }
    let flags = libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open directory fd and the path a static C string; the
    // mode is the variadic `mode_t` argument O_TMPFILE requires.
    let r = cvt_r(|| unsafe {
        libc::openat(dir.as_raw_fd(), c".".as_ptr(), flags, mode as libc::c_uint)
    });
    match r {
        Ok(fd) => Ok(Temp {
            // SAFETY: `fd` was just returned by openat and is owned by nobody else.
            file: unsafe { File::from_raw_fd(fd) },
            name: None,
        }),
        // The filesystem (EOPNOTSUPP) or the kernel (EISDIR, EINVAL: pre-3.11
        // kernels read O_TMPFILE as O_DIRECTORY) has no unnamed temps.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL)
            ) =>
        {
            unix::create_named_temp(dir, target, named_mode)
        }
        Err(e) => Err(e),
    }
}

/// Whether an unnamed temp can be given a name at commit in this process:
/// `linkat(AT_EMPTY_PATH)` is open to anyone since Linux 6.10, and to holders
/// of `CAP_DAC_READ_SEARCH` before; else `/proc/self/fd` must be there. Where
/// neither holds (an unprivileged writer on an older kernel without `/proc`),
/// temps are named from the start instead of failing at commit. Found out once
/// per process: one `uname` on current kernels.
fn unnamed_linkable() -> bool {
    /// `linux/capability.h`.
    const CAP_DAC_READ_SEARCH: u32 = 2;
    static LINKABLE: OnceLock<bool> = OnceLock::new();
    *LINKABLE.get_or_init(|| {
        kernel_at_least(6, 10)
            || std::path::Path::new("/proc/self/fd").is_dir()
            || has_capability(CAP_DAC_READ_SEARCH)
    })
}

/// Whether the running kernel's release is at least `major.minor`; `false`
/// if `uname` fails or the release doesn't parse.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    // SAFETY: all-zero bytes are a valid `struct utsname`.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid out-pointer.
    if unsafe { libc::uname(&mut u) } != 0 {
        return false;
    }
    let release: Vec<u8> = u
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    let mut parts = release
        .split(|&c| !c.is_ascii_digit())
        .map(|p| std::str::from_utf8(p).ok()?.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

/// Whether the calling thread has capability `cap` (< 32) in its effective set.
fn has_capability(cap: u32) -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: `header` and `data` are valid for capget's version 3 layout
    // (a header and two data structs).
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut Header,
            data.as_mut_ptr(),
        )
    };
    r == 0 && data[0].effective & (1 << cap) != 0
}

/// An `O_PATH` descriptor of the directory `path` (relative to `at`): enough
/// for `*at` calls where the directory may be written and searched but not read.
pub(crate) fn open_dir_path(at: RawFd, path: &CStr) -> io::Result<File> {
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `at` is an open directory fd or AT_FDCWD; `path` is a valid C string.
    let fd = cvt_r(|| unsafe { libc::openat(at, path.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// The setting of a kernel link protection (`/proc/sys/fs/protected_*`), read
/// only when a case it governs is met; `1` (on) where it can't be read.
pub(crate) fn protection(which: Protection) -> u32 {
    let path = match which {
        Protection::Symlinks => "/proc/sys/fs/protected_symlinks",
        Protection::Regular => "/proc/sys/fs/protected_regular",
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}

/// Whether `syncfs` on the filesystem holding `fd` is a full sync (see
/// [`SYNCFS_TRUSTED`]): one `fstatfs`, which works on an `O_PATH` descriptor.
pub(crate) fn syncfs_trusted(fd: &File) -> io::Result<bool> {
    // SAFETY: all-zero bytes are a valid `struct statfs`.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is an open fd and `st` a valid out-pointer.
    cvt_r(|| unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) })?;
    #[allow(clippy::useless_conversion)] // `f_type`'s type differs between targets
    let f_type = i64::from(st.f_type);
    Ok(SYNCFS_TRUSTED.contains(&f_type))
}

/// Gives an unnamed temp the name `name` in `dir`; fails with `EEXIST` if taken.
///
/// `linkat(fd, "", dir, name, AT_EMPTY_PATH)` first: no path lookup at all,
/// allowed to root and, since Linux 6.10, to whoever opened the file. Where it
/// is refused (`ENOENT`, or `EPERM` in some sandboxes), the classic
/// `linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW)`, which costs a walk
/// through procfs.
pub(crate) fn link_unnamed(file: &File, dir: &File, name: &OsStr) -> io::Result<()> {
    let to = cstr(name)?;
    // SAFETY: `file` and `dir` are open fds; the empty path is a static C string.
    let r = cvt_r(|| unsafe {
        libc::linkat(
            file.as_raw_fd(),
            c"".as_ptr(),
            dir.as_raw_fd(),
            to.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    });
    match r {
        Ok(_) => return Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::EPERM)) => {}
        Err(e) => return Err(e),
    }
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .expect("no NUL in a formatted path");
    // SAFETY: both paths are valid C strings; `dir` is an open directory fd.
    cvt_r(|| unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            dir.as_raw_fd(),
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })
    .map(drop)
}

/// Renames `from` to `to` in `dir` only if `to` does not exist:
/// `renameat2(RENAME_NOREPLACE)`, or a link and unlink where the filesystem
/// refuses the flag (decided on each call).
pub(crate) fn rename_noreplace(dir: &File, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let (f, t) = (cstr(from)?, cstr(to)?);
    let d = dir.as_raw_fd();
    // SAFETY: `d` is an open directory fd and `f`, `t` valid C strings; the
    // raw syscall is used because older C libraries lack the wrapper.
    let r = cvt_r(|| unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            d,
            f.as_ptr(),
            d,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        ) as libc::c_int
    });
    match r {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP)
            ) =>
        {
            unix::rename_noreplace(dir, from, to)
        }
        Err(e) => Err(e),
    }
}

/// Copies `src` into `dst`: first a reflink (`FICLONE`, shares the blocks on
/// btrfs and xfs), else [`io::copy`], which uses `copy_file_range`.
pub(crate) fn clone_or_copy(src: &mut File, dst: &mut File) -> io::Result<u64> {
    // SAFETY: both are open file descriptors; FICLONE takes the source fd as its argument.
    let r = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) };
    if r == 0 {
        let len = src.metadata()?.len();
        io::Seek::seek(dst, io::SeekFrom::Start(len))?;
        return Ok(len);
    }
    unix::clone_or_copy(src, dst)
}

/// Filesystems whose `syncfs` makes every file's data and metadata durable, as
/// an `fsync` of each would: ext2/3/4 (journal commit and cache flush), xfs
/// (log force), btrfs (transaction commit), and tmpfs (nothing to sync).
/// Elsewhere (FUSE without `FUSE_SYNCFS`, network filesystems, …) `syncfs` may
/// do less, and callers sync file by file.
#[allow(clippy::unnecessary_cast)] // the constants' type differs between targets
const SYNCFS_TRUSTED: [i64; 4] = [
    libc::EXT4_SUPER_MAGIC as i64,
    libc::XFS_SUPER_MAGIC as i64,
    libc::BTRFS_SUPER_MAGIC as i64,
    libc::TMPFS_MAGIC as i64,
];

/// `syncfs` of the filesystem holding `dir` (any descriptor on it but an
/// `O_PATH` one) if it is one whose `syncfs` is a
/// full sync (see [`SYNCFS_TRUSTED`]): `Ok(true)` once synced, `Ok(false)`
/// (nothing done) on any other filesystem.
pub(crate) fn sync_fs(dir: &File) -> io::Result<bool> {
    if !syncfs_trusted(dir)? {
        return Ok(false);
    }
    // SAFETY: `dir` is an open fd.
    cvt_r(|| unsafe { libc::syncfs(dir.as_raw_fd()) })?;
    Ok(true)
}

/// After [`sync_fs`]: `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)` over
/// the whole file writes anything still dirty and, through the file's error
/// sequence, reports a writeback error since the file was opened, even on
/// kernels before 5.8 whose `syncfs` did not. No journal commit, no cache flush.
pub(crate) fn check_written(file: &File) -> io::Result<()> {
    let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
        | libc::SYNC_FILE_RANGE_WRITE
        | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    // SAFETY: `file` is an open fd; offset 0 and length 0 mean the whole file.
    cvt_r(|| unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, flags) }).map(drop)
}

/// Fills `buf` from the kernel's random source (`getrandom(2)`), falling back
/// to `/dev/urandom` on kernels without the call.
pub(crate) fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the pointer and length describe `rest`, writable memory owned by us.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ENOSYS) => return unix::fill_random(buf),
                _ => return Err(e),
            }
        }
        done += n as usize;
    }
    Ok(())
}
