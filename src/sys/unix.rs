//! The portable Unix path: named temp files, `fsync`, `renameat`, directory `fsync`.
//!
//! This is what every Unix system uses, and what Linux falls back to where
//! `O_TMPFILE` is refused (some FUSE, NFS, old overlayfs). Syscalls only: each
//! `unsafe` block holds one call and says why it is sound.
#![allow(unsafe_code)]

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use super::{FileKind, Meta, Temp};

/// Marker that makes our temp names recognisable: `.NAME.atomic-write-XXXXXXXXXXXXXXXX.tmp`.
const MARKER: &[u8] = b".atomic-write-";
const SUFFIX: &[u8] = b".tmp";
const RAND_HEX: usize = 16;
/// `NAME_MAX` on every filesystem we know of.
const NAME_MAX: usize = 255;

/// `name` as a C string; a NUL byte inside is `InvalidInput`.
pub(crate) fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file name contains a NUL byte"))
}

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

/// Opens a directory for `*at` calls and `fsync`.
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    let c = cstr(path.as_os_str())?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let fd = cvt_r(|| unsafe { libc::open(c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by open and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Opens the directory `path` (relative to `base`, or to the working directory
/// when `None`) for `*at` calls: `O_RDONLY`, so it can be `fsync`ed, or — for a
/// directory the caller may write and search but not read (`0300`) — a
/// descriptor that serves only for `*at` calls (`O_PATH` on Linux). Returns
/// the directory and whether it was opened for reading.
pub(crate) fn open_dir_rel(base: Option<&File>, path: &Path) -> io::Result<(File, bool)> {
    let c = cstr(path.as_os_str())?;
    let at = base.map_or(libc::AT_FDCWD, AsRawFd::as_raw_fd);
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `at` is an open directory fd or AT_FDCWD; `c` is a valid C string.
    match cvt_r(|| unsafe { libc::openat(at, c.as_ptr(), flags) }) {
        // SAFETY: `fd` was just returned by openat and is owned by nobody else.
        Ok(fd) => Ok((unsafe { File::from_raw_fd(fd) }, true)),
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => super::open_dir_path(at, &c)
            .map(|d| (d, false))
            .map_err(|_| e),
        Err(e) => Err(e),
    }
}

/// No descriptor for a directory that can't be read on the portable path:
/// `EACCES`, as opening it for reading said.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn open_dir_path(_at: RawFd, _path: &std::ffi::CStr) -> io::Result<File> {
    Err(io::Error::from_raw_os_error(libc::EACCES))
}

/// The caller's effective user id.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
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

/// `lstat` of `name` inside `dir`; `Ok(None)` if nothing is there.
pub(crate) fn stat_at(dir: &File, name: &OsStr) -> io::Result<Option<Meta>> {
    let c = cstr(name)?;
    // SAFETY: all-zero bytes are a valid `struct stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `dir` is an open fd, `c` a valid C string and `st` a valid out-pointer.
    let r = cvt_r(|| unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    });
    match r {
        Ok(_) => Ok(Some(meta(&st))),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `fstat` of an open file (or directory).
pub(crate) fn fstat(file: &File) -> io::Result<Meta> {
    // SAFETY: all-zero bytes are a valid `struct stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `file` is an open fd and `st` a valid out-pointer.
    cvt_r(|| unsafe { libc::fstat(file.as_raw_fd(), &mut st) })?;
    Ok(meta(&st))
}

#[allow(clippy::unnecessary_cast)] // `dev_t`/`ino_t` are narrower on some platforms
fn meta(st: &libc::stat) -> Meta {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => FileKind::Regular,
        libc::S_IFDIR => FileKind::Directory,
        libc::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Special,
    };
    Meta {
        kind,
        mode: (st.st_mode & 0o7777) as u32,
        uid: st.st_uid,
        gid: st.st_gid,
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        size: st.st_size as u64,
        nlink: st.st_nlink as u64,
        mtime: time(st.st_mtime as i64, st.st_mtime_nsec as i64),
    }
}

/// A `stat` time as a [`SystemTime`](std::time::SystemTime).
fn time(secs: i64, nsecs: i64) -> std::time::SystemTime {
    use std::time::{Duration, UNIX_EPOCH};
    let nanos = Duration::from_nanos(nsecs.clamp(0, 999_999_999) as u64);
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos
    }
}

/// `readlinkat`: the target of the symlink `name` in `dir`.
pub(crate) fn read_link_at(dir: &File, name: &OsStr) -> io::Result<OsString> {
    let c = cstr(name)?;
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    loop {
        let cap = buf.capacity();
        // SAFETY: `dir` is an open fd, `c` a valid C string, and `buf` has room
        // for `cap` bytes; readlinkat writes at most that many.
        let n = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                c.as_ptr(),
                buf.as_mut_ptr().cast::<libc::c_char>(),
                cap,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(err);
        }
        let n = n as usize;
        if n < cap {
            // SAFETY: readlinkat initialised the first `n` bytes.
            unsafe { buf.set_len(n) };
            return Ok(OsString::from_vec(buf));
        }
        // Possibly truncated: try again with more room.
        buf.reserve(cap * 2);
    }
}

/// A fresh hidden temp name for `target`: `.TARGET.atomic-write-<16 hex>.tmp`,
/// the target part cut short so the whole stays within `NAME_MAX` (at a
/// character boundary when the target's name is UTF-8).
pub(crate) fn temp_name(target: &OsStr) -> io::Result<OsString> {
    let rand = random_u64()?.to_be_bytes();
    let budget = NAME_MAX - 1 - MARKER.len() - RAND_HEX - SUFFIX.len();
    let t = target.as_bytes();
    let mut cut = t.len().min(budget);
    // A UTF-8 name stays UTF-8: cut before a continuation byte's character.
    if std::str::from_utf8(t).is_ok() {
        while cut > 0 && cut < t.len() && t[cut] & 0xC0 == 0x80 {
            cut -= 1;
        }
    }
    let t = &t[..cut];
    let mut name = Vec::with_capacity(NAME_MAX);
    name.push(b'.');
    name.extend_from_slice(t);
    name.extend_from_slice(MARKER);
    for b in rand {
        name.push(b"0123456789abcdef"[usize::from(b >> 4)]);
        name.push(b"0123456789abcdef"[usize::from(b & 0xf)]);
    }
    name.extend_from_slice(SUFFIX);
    Ok(OsString::from_vec(name))
}

/// 64 unpredictable bits without a syscall per call: a hash of a secret
/// 128-bit seed and a process-wide counter, so names differ from call to call
/// and cannot be guessed by other users. The seed is read from the OS's random
/// source once per process ([`fill_random`](super::fill_random)); failing to read it
/// is an error, not a panic (std's `RandomState` panics when the OS random
/// source fails). A forked child may
/// repeat its parent's names; the exclusive create or link then fails with
/// `EEXIST` and the caller draws again.
fn random_u64() -> io::Result<u64> {
    use std::hash::Hasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static SEED: OnceLock<[u8; 16]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = match SEED.get() {
        Some(seed) => seed,
        None => {
            let mut seed = [0u8; 16];
            super::fill_random(&mut seed)?;
            SEED.get_or_init(|| seed)
        }
    };
    let mut h = std::hash::DefaultHasher::new();
    h.write(seed);
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    Ok(h.finish())
}

/// Fills `buf` from `/dev/urandom`.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    use std::io::Read;
    File::open("/dev/urandom")?.read_exact(buf)
}

/// Whether `name` has the shape of a name made by [`temp_name`].
pub(crate) fn is_temp_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    let tail = MARKER.len() + RAND_HEX + SUFFIX.len();
    if b.len() < 1 + tail || b[0] != b'.' || !b.ends_with(SUFFIX) {
        return false;
    }
    let rest = &b[b.len() - tail..];
    rest.starts_with(MARKER)
        && rest[MARKER.len()..MARKER.len() + RAND_HEX]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// Creates a named temp file in `dir`: `O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC`,
/// with permission bits `mode` (the umask applies on top), and locks it
/// ([`lock`]) for as long as the returned file lives, so that
/// [`sweep`](crate::sweep) knows it is live. A sweep that opened the temp in
/// the instant between its creation and the lock may have removed it: then
/// the file has no link left, and another is created.
pub(crate) fn create_named_temp(dir: &File, target: &OsStr, mode: u32) -> io::Result<Temp> {
    let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let mut tries = 0;
    loop {
        let name = temp_name(target)?;
        let c = cstr(&name)?;
        // SAFETY: `dir` is an open fd and `c` a valid C string; the mode is passed
        // as the variadic `mode_t` argument O_CREAT requires.
        let r = cvt_r(|| unsafe {
            libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, mode as libc::c_uint)
        });
        match r {
            Ok(fd) => {
                // SAFETY: `fd` was just returned by openat and is owned by nobody else.
                let file = unsafe { File::from_raw_fd(fd) };
                // A temp that cannot be locked or checked is not handed out:
                // remove it rather than leave it behind.
                let unlinked = match lock(&file).and_then(|()| fstat(&file)) {
                    Ok(m) => m.nlink == 0,
                    Err(e) => {
                        let _ = unlink(dir, &name);
                        return Err(e);
                    }
                };
                if unlinked && tries < 16 {
                    tries += 1;
                    continue;
                }
                return Ok(Temp {
                    file,
                    name: Some(name),
                });
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && tries < 16 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// An exclusive `flock` on the temp, held until its descriptor is closed (or
/// the process dies): the sign for [`sweep`](crate::sweep) that a writer is
/// alive. Waits while a sweep holds it (only for the instant of its unlink).
pub(crate) fn lock(file: &File) -> io::Result<()> {
    // SAFETY: `file` is an open fd; flock takes no pointer.
    cvt_r(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }).map(drop)
}

/// Releases [`lock`]: for a committed file handed back to the caller, which
/// is the target now and must not stay locked.
pub(crate) fn unlock(file: &File) -> io::Result<()> {
    // SAFETY: `file` is an open fd; flock takes no pointer.
    cvt_r(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) }).map(drop)
}

/// `flock(LOCK_EX|LOCK_NB)`: `Ok(false)` if someone else holds a lock.
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: `file` is an open fd; flock takes no pointer.
    match cvt_r(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `flock(LOCK_SH|LOCK_NB)`: `Ok(false)` if someone holds an exclusive lock.
/// The mark a writer puts on the target's inode while a hidden backup link of
/// it exists (see [`crate::backup`]): a sweep's exclusive lock then fails.
pub(crate) fn try_lock_shared(file: &File) -> io::Result<bool> {
    // SAFETY: `file` is an open fd; flock takes no pointer.
    match cvt_r(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Opens `name` in `dir` to lock it, never following a symlink, never
/// blocking (a FIFO), never becoming a controlling terminal.
pub(crate) fn open_nofollow_at(dir: &File, name: &OsStr) -> io::Result<File> {
    let c = cstr(name)?;
    let flags =
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    let fd = cvt_r(|| unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// The names in the directory `dir` (without `.` and `..`). The portable
/// path lists it by `path` (`read_dir`); Linux has its own, through `dir`.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn list_dir(_dir: &File, path: &Path) -> io::Result<Vec<OsString>> {
    std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.file_name()))
        .collect()
}

/// The portable platform has no unnamed temps: always a named one.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn create_temp(
    dir: &File,
    target: &OsStr,
    mode: u32,
    owner_only: bool,
    _force_named: bool,
) -> io::Result<Temp> {
    create_named_temp(dir, target, if owner_only { mode & 0o600 } else { mode })
}

/// Unnamed temps do not exist here, so there is never one to link.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn link_unnamed(_file: &File, _dir: &File, _name: &OsStr) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// `renameat(dir, from, dir, to)`: atomically replaces `to`.
pub(crate) fn rename(dir: &File, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let (f, t) = (cstr(from)?, cstr(to)?);
    let d = dir.as_raw_fd();
    // SAFETY: `d` is an open directory fd; `f` and `t` are valid C strings.
    cvt_r(|| unsafe { libc::renameat(d, f.as_ptr(), d, t.as_ptr()) }).map(drop)
}

/// `linkat(dir, from, dir, to)`: fails with `EEXIST` if `to` exists.
pub(crate) fn link(dir: &File, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let (f, t) = (cstr(from)?, cstr(to)?);
    let d = dir.as_raw_fd();
    // SAFETY: `d` is an open directory fd; `f` and `t` are valid C strings.
    cvt_r(|| unsafe { libc::linkat(d, f.as_ptr(), d, t.as_ptr(), 0) }).map(drop)
}

/// Moves `from` to `to` only if `to` does not exist: on Apple systems
/// `renameatx_np(RENAME_EXCL)`; elsewhere, and where the filesystem refuses
/// that flag, link, then unlink the old name. Race-free: `link` fails with
/// `EEXIST` atomically.
///
/// `Err`: nothing was created. `Ok(Some(e))`: `to` was created, but removing
/// `from` (now a second link to it) failed with `e`; the caller must report
/// that, not a failure to create.
pub(crate) fn rename_noreplace(
    dir: &File,
    from: &OsStr,
    to: &OsStr,
) -> io::Result<Option<io::Error>> {
    #[cfg(target_vendor = "apple")]
    {
        let (f, t) = (cstr(from)?, cstr(to)?);
        let d = dir.as_raw_fd();
        // SAFETY: `d` is an open directory fd; `f` and `t` are valid C strings.
        let r = cvt_r(|| unsafe {
            libc::renameatx_np(d, f.as_ptr(), d, t.as_ptr(), libc::RENAME_EXCL)
        });
        match r {
            Ok(_) => return Ok(None),
            // A filesystem without the flag (some network and FUSE ones):
            // the link below, decided on each call.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOTSUP | libc::EOPNOTSUPP | libc::EINVAL)
                ) => {}
            Err(e) => return Err(e),
        }
    }
    link(dir, from, to)?;
    Ok(unlink(dir, from).err())
}

/// `unlinkat(dir, name, 0)`.
pub(crate) fn unlink(dir: &File, name: &OsStr) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    cvt_r(|| unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) }).map(drop)
}

/// Opens `name` in `dir` for reading without following a symlink there
/// (`O_NOFOLLOW`: a symlink fails with `ELOOP`) and without blocking on a FIFO
/// (`O_NONBLOCK`).
pub(crate) fn open_read_nofollow_at(dir: &File, name: &OsStr) -> io::Result<File> {
    let c = cstr(name)?;
    let flags =
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    let fd = cvt_r(|| unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// `mkdirat(dir, name, mode)`: the umask applies, as for `mkdir(2)`.
pub(crate) fn mkdir_at(dir: &File, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    cvt_r(|| unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// Copies all of `src` into `dst` from their current offsets through
/// [`io::copy`], which uses the kernel's copy path where the OS has one.
pub(crate) fn clone_or_copy(src: &mut File, dst: &mut File) -> io::Result<u64> {
    // EINTR: nothing was lost; the file offsets say where to resume.
    let mut total = 0;
    loop {
        match io::copy(src, dst) {
            Ok(n) => return Ok(total + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                total = io::Seek::stream_position(dst)?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `fchmod`: the exact permission bits.
pub(crate) fn chmod(file: &File, mode: u32) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is an open file descriptor.
    cvt_r(|| unsafe { libc::fchmod(fd, mode as libc::mode_t) }).map(drop)
}

/// `fchown` to `uid:gid`, or to the group alone, or nothing: whatever the
/// process may do; returns whether the owner and the group were set. Only `EPERM` and
/// `EINVAL` (an id unmapped in a user namespace) are swallowed; other errors
/// (`EIO`, `EROFS`) are real.
pub(crate) fn chown_best_effort(file: &File, uid: u32, gid: u32) -> io::Result<(bool, bool)> {
    let fd: RawFd = file.as_raw_fd();
    // SAFETY: `fd` is an open file descriptor.
    match cvt_r(|| unsafe { libc::fchown(fd, uid, gid) }) {
        Ok(_) => return Ok((true, true)),
        // EINVAL: the owner has no id in our user namespace (`unshare -r`,
        // rootless containers): as little ours to give as with EPERM.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EINVAL)) => {}
        Err(e) => return Err(e),
    }
    // Not allowed to give the file away; keep the group if we are a member.
    // SAFETY: `fd` is an open file descriptor; `uid_t::MAX` (-1) leaves the owner as is.
    match cvt_r(|| unsafe { libc::fchown(fd, libc::uid_t::MAX, gid) }) {
        Ok(_) => Ok((false, true)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EINVAL)) => {
            Ok((false, false))
        }
        Err(e) => Err(e),
    }
}

/// Makes a file's data and metadata durable: `fsync`, or `F_FULLFSYNC` on Apple
/// platforms (where `fsync` does not flush the drive's cache).
pub(crate) fn sync_file(file: &File) -> io::Result<()> {
    full_sync(file.as_raw_fd())
}

/// Whether `syncfs` can stand in for an `fsync` of each file on the
/// filesystem of `dir`: the portable path knows no such filesystem.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn syncfs_trusted(_dir: &File, _any_kernel: bool) -> io::Result<bool> {
    Ok(false)
}

/// Never called where [`syncfs_trusted`] is always false.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn sync_fs(_dir: &File) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Starting the writeback ahead of the `fsync`s is a Linux call
/// (`sync_file_range`); here the `fsync`s alone do the work.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn start_writeback(_file: &File) -> io::Result<()> {
    Ok(())
}

/// After [`sync_fs`]: writes what is still dirty of `file` and reports any
/// writeback error since it was opened. Here, where `sync_fs` never syncs, a
/// full [`sync_file`].
#[allow(dead_code)] // Linux has its own.
pub(crate) fn check_written(file: &File) -> io::Result<()> {
    sync_file(file)
}

/// Makes a directory's entries durable; same mechanism as [`sync_file`].
pub(crate) fn sync_dir(dir: &File) -> io::Result<()> {
    full_sync(dir.as_raw_fd())
}

#[cfg(target_vendor = "apple")]
fn full_sync(fd: RawFd) -> io::Result<()> {
    // SAFETY: `fd` is an open file descriptor; F_FULLFSYNC takes no argument.
    match cvt_r(|| unsafe { libc::fcntl(fd, libc::F_FULLFSYNC) }) {
        Ok(_) => Ok(()),
        // Some filesystems (network, FUSE) do not implement F_FULLFSYNC.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::ENOTTY)) => {
            // SAFETY: `fd` is an open file descriptor.
            cvt_r(|| unsafe { libc::fsync(fd) }).map(drop)
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(target_vendor = "apple"))]
fn full_sync(fd: RawFd) -> io::Result<()> {
    // A failed fsync is never retried (the kernel may have dropped the dirty
    // pages, and a retry can falsely succeed) — but EINTR means it never ran.
    // SAFETY: `fd` is an open file descriptor.
    cvt_r(|| unsafe { libc::fsync(fd) }).map(drop)
}

/// Extended attributes are kept on Linux only so far: elsewhere a target
/// lists none (macOS and the BSDs have other calls, not yet verified).
///
/// The source of a replacement's owner, mode and attributes: `name` in
/// `dir` opened for reading without following a symlink. Linux has its own.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn open_source_at(dir: &File, name: &OsStr) -> io::Result<(File, bool)> {
    open_read_nofollow_at(dir, name).map(|f| (f, false))
}

/// Nothing listed (see [`open_source_at`]).
#[allow(dead_code)] // Linux has its own.
pub(crate) fn list_xattrs_of(_file: &File, _by_proc: bool, _buf: &mut [u8]) -> io::Result<usize> {
    Ok(0)
}

/// Never called where [`list_xattrs_of`] lists nothing.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn get_xattr_of(
    _file: &File,
    _by_proc: bool,
    _attr: &std::ffi::CStr,
    _buf: &mut [u8],
) -> io::Result<usize> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Never called where [`list_xattrs_of`] lists nothing.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn set_xattr(_file: &File, _attr: &std::ffi::CStr, _value: &[u8]) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// No ACL can have been inherited where none are read: nothing to remove.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn remove_xattr(_file: &File, _attr: &std::ffi::CStr) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOTSUP))
}

/// No attributes where none are read.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn has_xattr(_file: &File, _attr: &std::ffi::CStr) -> io::Result<bool> {
    Ok(false)
}

/// `pread`: reads at `offset` without moving the file's cursor.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// Whether `e` says a system call is not there for this process (`ENOSYS`,
/// or `EPERM` from a sandbox). Linux has its own list of such calls; here
/// none of the calls that ask is made.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn unavailable(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM))
}

/// Never asked where unnamed temps do not exist.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn unlinkable(_e: &io::Error) -> bool {
    false
}

/// Forks this process made (counted by a `pthread_atfork` handler in the
/// parent, registered on the first call). A forked child shares our open
/// file descriptions, and with them our `flock`s: a lock taken before a fork
/// must be released explicitly, not by closing. Comparing two counts tells
/// whether that is needed without a syscall.
pub(crate) fn fork_count() -> u64 {
    register_fork_handlers();
    FORKS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Forks between the process that first asked and this one (counted by a
/// `pthread_atfork` handler in the child): a value other than the one read
/// at `create()` means this is a forked child, which must leave the
/// parent's temp alone. No syscall (`getpid` is one on current C libraries).
pub(crate) fn fork_generation() -> u64 {
    register_fork_handlers();
    GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

fn register_fork_handlers() {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers handlers that only increment an atomic (async-
        // signal-safe); no pointer is passed but the functions'.
        let _ = unsafe { libc::pthread_atfork(None, Some(count_fork), Some(count_generation)) };
    });
}

static FORKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn count_generation() {
    GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

extern "C" fn count_fork() {
    FORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}
