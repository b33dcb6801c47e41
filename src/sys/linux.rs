//! Linux: unnamed `O_TMPFILE` temps, `linkat` to name them, `renameat2` for
//! `no_clobber`, `FICLONE` for reflinked appends. Falls back to [`super::unix`]
//! where the filesystem refuses. Syscalls only: each `unsafe` block holds one
//! call and says why it is sound.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

use super::unix::{self, cstr, cvt_r, Protection};
use super::Temp;

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

/// `openat(O_TMPFILE)` answered `ENOSYS` or `EPERM`: a sandbox (a filter on
/// the open flags) or a security module forbids it; temps are named.
static NO_TMPFILE: Missing = Missing::new();

/// Creates the temp: unnamed (`O_TMPFILE`) where the filesystem supports it,
/// else named. `mode` are the permission bits (the umask applies on top).
pub(crate) fn create_temp(
    dir: &File,
    target: &OsStr,
    mode: u32,
    owner_only: bool,
    force_named: bool,
) -> io::Result<Temp> {
    // A named temp, which others could open by its name, is owner-only.
    let named_mode = if owner_only { mode & 0o600 } else { mode };
    if force_named || NO_TMPFILE.get() || !unnamed_linkable() {
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
        // kernels read O_TMPFILE as O_DIRECTORY) has no unnamed temps: asked
        // again next time, another filesystem may have them.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL)
            ) =>
        {
            unix::create_named_temp(dir, target, named_mode)
        }
        // A sandbox or a security module forbids it: not asked again. (A
        // wrong guess costs nothing but the unnamed temp: the named one is
        // always right.)
        Err(e) if unavailable(&e) => {
            NO_TMPFILE.set();
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
/// per process: one `uname` on current kernels (shared with [`kernel_version`]).
fn unnamed_linkable() -> bool {
    /// `linux/capability.h`.
    const CAP_DAC_READ_SEARCH: u32 = 2;
    static LINKABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LINKABLE.get_or_init(|| {
        kernel_version() >= (6, 10)
            || std::path::Path::new("/proc/self/fd").is_dir()
            || has_capability(CAP_DAC_READ_SEARCH)
    })
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
    /// `_LINUX_CAPABILITY_VERSION_3`: two `Data` structs.
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: `header` and `data` are valid for capget's version 3 layout (a
    // header and two data structs), and outlive the call.
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

/// Gives an unnamed temp the name `name` in `dir`; fails with `EEXIST` if taken.
///
/// `linkat(fd, "", dir, name, AT_EMPTY_PATH)` first: no path lookup at all,
/// allowed to root and, since Linux 6.10, to whoever opened the file with the
/// credentials it still has. Where it is refused (`ENOENT`: credentials
/// changed since, or no privilege before 6.10; `EPERM`/`ENOSYS`: a sandbox),
/// the classic `linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW)`, which costs a
/// walk through procfs. If that fails too, the error of the first: see
/// [`unlinkable`] (the caller then copies the data into a named temp).
pub(crate) fn link_unnamed(file: &File, dir: &File, name: &OsStr) -> io::Result<()> {
    let to = cstr(name)?;
    if NO_EMPTY_PATH_LINK.get() {
        return link_proc(file, dir, &to);
    }
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
    let first = match r {
        Ok(_) => return Ok(()),
        Err(e) if unlinkable(&e) => e,
        Err(e) => return Err(e),
    };
    match link_proc(file, dir, &to) {
        Ok(()) => {
            // A sandbox's answer (the same link through /proc was allowed)
            // holds for every file: not asked again. (`ENOENT` depends on
            // this file's credentials, and is asked each time.)
            if unavailable(&first) {
                NO_EMPTY_PATH_LINK.set();
            }
            Ok(())
        }
        Err(e) if unlinkable(&e) => Err(first),
        Err(e) => Err(e),
    }
}

/// `linkat(AT_EMPTY_PATH)` answered `ENOSYS` or `EPERM`: a sandbox forbids it.
static NO_EMPTY_PATH_LINK: Missing = Missing::new();

/// Whether linking an unnamed temp failed because this process may not do it
/// here, not because of the directory: `ENOENT` (credentials changed since the
/// temp was opened, or no `/proc`), `EACCES` (`/proc/self/fd` closed to a
/// process that changed its credentials), `EPERM`, `ENOSYS` (a sandbox). The
/// data can then still be copied into a named temp.
pub(crate) fn unlinkable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::ENOSYS)
    )
}

/// `linkat("/proc/self/fd/N", dir, to, AT_SYMLINK_FOLLOW)`.
fn link_proc(file: &File, dir: &File, to: &CStr) -> io::Result<()> {
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

/// `renameat2` answered `ENOSYS`: a kernel before 3.15, or a sandbox.
static NO_RENAMEAT2: Missing = Missing::new();

/// Renames `from` to `to` in `dir` only if `to` does not exist:
/// `renameat2(RENAME_NOREPLACE)`, or a link and unlink where the filesystem
/// refuses the flag (decided on each call) or the call is not there (`ENOSYS`,
/// remembered; `EPERM` from a sandbox, asked each time, since a filesystem may
/// say `EPERM` too). `Ok(Some(e))` as in [`unix::rename_noreplace`]: created,
/// but the temp name stayed.
pub(crate) fn rename_noreplace(
    dir: &File,
    from: &OsStr,
    to: &OsStr,
) -> io::Result<Option<io::Error>> {
    if NO_RENAMEAT2.get() {
        return link_noreplace(dir, from, to, libc::ENOSYS);
    }
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
        Ok(_) => Ok(None),
        Err(e) => match e.raw_os_error() {
            Some(errno @ (libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM)) => {
                if errno == libc::ENOSYS {
                    NO_RENAMEAT2.set();
                }
                link_noreplace(dir, from, to, errno)
            }
            _ => Err(e),
        },
    }
}

/// The `link`-and-`unlink` no-clobber rename, after `renameat2` said `errno`.
fn link_noreplace(
    dir: &File,
    from: &OsStr,
    to: &OsStr,
    errno: i32,
) -> io::Result<Option<io::Error>> {
    unix::rename_noreplace(dir, from, to).map_err(|e| match e.raw_os_error() {
        // A filesystem without the flag and without hard links (a FUSE
        // vfat): link(2) says EPERM, which alone would read as a denial.
        // (After an EPERM from renameat2 too, it is one.)
        Some(libc::EPERM) if errno != libc::EPERM => crate::error::context(e, || {
            "no-clobber is not supported on this filesystem \
             (it has neither RENAME_NOREPLACE nor hard links)"
                .into()
        }),
        _ => e,
    })
}

/// Copies `src` into `dst`: first a reflink (`FICLONE`, shares the blocks on
/// btrfs and xfs), else [`io::copy`], which uses `copy_file_range`.
pub(crate) fn clone_or_copy(src: &mut File, dst: &mut File) -> io::Result<u64> {
    // SAFETY: both are open file descriptors; FICLONE takes the source fd as its argument.
    let r = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) };
    if r == 0 {
        // The clone's own end, not the source's length read afterwards: a
        // concurrent append to the source in between would leave a hole of
        // NUL bytes in the result.
        return io::Seek::seek(dst, io::SeekFrom::End(0));
    }
    unix::clone_or_copy(src, dst)
}

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

/// The running kernel's `(major, minor)`, from `uname`, read once; `(0, 0)`
/// if it cannot be parsed (then nothing that needs a recent kernel is used).
pub(crate) fn kernel_version() -> (u32, u32) {
    static VERSION: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        // SAFETY: all-zero bytes are a valid `struct utsname`.
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `u` is a valid out-pointer.
        if unsafe { libc::uname(&mut u) } != 0 {
            return (0, 0);
        }
        // SAFETY: uname NUL-terminates `release`.
        let release = unsafe { CStr::from_ptr(u.release.as_ptr()) };
        parse_kernel_version(&release.to_string_lossy())
    })
}

/// `"6.18.44-fc-v669"` → `(6, 18)`; `(0, 0)` for what does not parse.
pub(crate) fn parse_kernel_version(release: &str) -> (u32, u32) {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor),
        _ => (0, 0),
    }
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

/// Fills `buf` from the kernel's random source (`getrandom(2)`), falling back
/// to `/dev/urandom` on kernels without the call (`ENOSYS`, before 3.17) and
/// in sandboxes that refuse it (`EPERM`). Called once per process (the seed
/// of the temp names), so the answer is not remembered.
///
/// The raw syscall, not `libc::getrandom`: the glibc wrapper is versioned
/// `getrandom@GLIBC_2.25`, and importing it would keep the crate from linking
/// on the glibc 2.17–2.24 systems Rust supports.
pub(crate) fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the pointer and length describe `rest`, writable memory owned by us.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getrandom,
                rest.as_mut_ptr(),
                rest.len(),
                0 as libc::c_uint,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ENOSYS) | Some(libc::EPERM) => return unix::fill_random(buf),
                _ => return Err(e),
            }
        }
        done += n as usize;
    }
    Ok(())
}

/// The names in the directory `dir` (without `.` and `..`), read with
/// `getdents64` through the descriptor itself: no path is looked up again.
pub(crate) fn list_dir(dir: &File, _path: &std::path::Path) -> io::Result<Vec<OsString>> {
    use std::os::unix::ffi::OsStrExt;
    let fd = dir.as_raw_fd();
    // SAFETY: `fd` is an open directory fd; lseek takes no pointer.
    if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut names = Vec::new();
    let mut buf = vec![0u8; 32 << 10];
    loop {
        // SAFETY: `buf` is writable for `buf.len()` bytes; getdents64 writes at most that.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Ok(names);
        }
        // Records: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name NUL-terminated.
        let mut off = 0;
        while off < n as usize {
            let reclen = usize::from(u16::from_ne_bytes([buf[off + 16], buf[off + 17]]));
            let name = &buf[off + 19..off + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(name).to_os_string());
            }
            off += reclen;
        }
    }
}

/// Retries a syscall returning `ssize_t` while it fails with `EINTR`.
fn cvt_size(mut f: impl FnMut() -> libc::c_long) -> io::Result<usize> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r as usize);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Opens `name` in `dir` as the one source of a replacement's owner, mode and
/// extended attributes, so that all of them come from one inode (a lookup
/// per attribute by name would let a directory writer swap the file between
/// them): `O_PATH|O_NOFOLLOW` (a symlink there opens as itself), needing no
/// permission on the file and never opening a device. Its attributes are read
/// through `/proc/self/fd` (the `bool`, `true` here, is `by_proc` below);
/// where that is missing, the caller reopens the file for reading (see
/// [`crate::attrs::Xattrs::read`]).
pub(crate) fn open_source_at(dir: &File, name: &OsStr) -> io::Result<(File, bool)> {
    let c = cstr(name)?;
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    let fd = cvt_r(|| unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok((unsafe { File::from_raw_fd(fd) }, true))
}

/// `/proc/self/fd/N` of `file`, for the `*xattr` calls that follow it to the
/// very inode `file` is open on (an `O_PATH` descriptor, which the `f*xattr`
/// calls refuse with `EBADF`).
fn fd_path(file: &File) -> CString {
    CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("no NUL in a number")
}

/// The names of the extended attributes of the file `file` is open on,
/// NUL-separated, into `buf`; `ERANGE` if `buf` is too small, with an empty
/// `buf` the size needed, `E2BIG` if the list is longer than the kernel hands
/// out (64 KiB). `by_proc`: `file` is an `O_PATH` descriptor (see
/// [`open_source_at`]), reached through `/proc/self/fd`; else `flistxattr`.
pub(crate) fn list_xattrs_of(file: &File, by_proc: bool, buf: &mut [u8]) -> io::Result<usize> {
    if !by_proc {
        // SAFETY: `file` is an open fd; `buf` is writable for `buf.len()` bytes.
        return cvt_size(|| unsafe {
            libc::flistxattr(file.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
        } as _);
    }
    let p = fd_path(file);
    // SAFETY: `p` is a valid C string; `buf` is writable for `buf.len()` bytes.
    cvt_size(|| unsafe { libc::listxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) } as _)
}

/// The value of the extended attribute `attr` of the file `file` is open on
/// into `buf`; `ERANGE` if `buf` is too small, and with an empty `buf` the
/// size needed. `by_proc` as for [`list_xattrs_of`].
pub(crate) fn get_xattr_of(
    file: &File,
    by_proc: bool,
    attr: &CStr,
    buf: &mut [u8],
) -> io::Result<usize> {
    if !by_proc {
        // SAFETY: `file` is an open fd, `attr` a valid C string; `buf` is
        // writable for `buf.len()` bytes.
        return cvt_size(|| unsafe {
            libc::fgetxattr(
                file.as_raw_fd(),
                attr.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        } as _);
    }
    let p = fd_path(file);
    // SAFETY: `p` and `attr` are valid C strings; `buf` is writable for `buf.len()` bytes.
    cvt_size(|| unsafe {
        libc::getxattr(
            p.as_ptr(),
            attr.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    } as _)
}

/// `fsetxattr(file, attr, value, 0)`: creates or replaces the attribute.
pub(crate) fn set_xattr(file: &File, attr: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `file` is an open fd, `attr` a valid C string, `value` readable
    // for `value.len()` bytes.
    cvt_r(|| unsafe {
        libc::fsetxattr(
            file.as_raw_fd(),
            attr.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

/// `fremovexattr(file, attr)`.
pub(crate) fn remove_xattr(file: &File, attr: &CStr) -> io::Result<()> {
    // SAFETY: `file` is an open fd and `attr` a valid C string.
    cvt_r(|| unsafe { libc::fremovexattr(file.as_raw_fd(), attr.as_ptr()) }).map(drop)
}

/// Whether `file` has the extended attribute `attr`: `fgetxattr` asking for
/// the size only.
pub(crate) fn has_xattr(file: &File, attr: &CStr) -> io::Result<bool> {
    // SAFETY: `file` is an open fd and `attr` a valid C string; a null buffer
    // of size 0 asks for the value's size only.
    let r = cvt_size(|| unsafe {
        libc::fgetxattr(file.as_raw_fd(), attr.as_ptr(), std::ptr::null_mut(), 0)
    } as _);
    match r {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENODATA) | Some(libc::EOPNOTSUPP)
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_kernel_version;

    #[test]
    fn kernel_versions() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v669"), (6, 18));
        assert_eq!(parse_kernel_version("5.16.0"), (5, 16));
        assert_eq!(parse_kernel_version("5.17"), (5, 17));
        assert_eq!(parse_kernel_version("4.19.0-25-amd64"), (4, 19));
        assert_eq!(parse_kernel_version("garbage"), (0, 0));
        assert_eq!(parse_kernel_version(""), (0, 0));
        assert!(super::kernel_version() >= (3, 0));
    }
}
