//! `O_TMPFILE` for the model: `fuser` has no `tmpfile` operation (it answers
//! `ENOSYS`, and the kernel then refuses `O_TMPFILE` with `EOPNOTSUPP`), so the
//! model is mounted here by hand and a proxy sits between `/dev/fuse` and
//! `fuser`: it answers `FUSE_TMPFILE` itself, by creating an unnamed inode in
//! the model, and passes every other message through unchanged. `fuser` reads
//! its requests from one end of a `SOCK_SEQPACKET` socket pair, which keeps
//! message boundaries as `/dev/fuse` does.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::fuse::Live;
use super::{Inode, Op};

/// `FUSE_TMPFILE` (protocol 7.37).
const FUSE_TMPFILE: u32 = 51;
/// `sizeof(struct fuse_in_header)`.
const IN_HEADER: usize = 40;
/// Large enough for any request at the model's `max_write`.
const BUF: usize = (1 << 20) + 4096;

/// The hand-made mount: the proxy threads and the socket `fuser` reads.
pub struct Proxy {
    threads: Vec<JoinHandle<()>>,
}

/// Opens `/dev/fuse`, mounts it on `dir`, and starts the proxy. Returns the
/// socket end to give to `fuser::Session::from_fd`.
pub fn mount(dir: &Path, live: Arc<Mutex<Live>>) -> io::Result<(OwnedFd, Proxy)> {
    let dev = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")?;
    // SAFETY: getuid and getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let opts = CString::new(format!(
        "fd={},rootmode=40000,user_id={uid},group_id={gid}",
        dev.as_raw_fd()
    ))
    .expect("no NUL");
    let target = CString::new(dir.as_os_str().as_bytes())?;
    // SAFETY: all pointers are valid NUL-terminated strings for the call.
    let r = unsafe {
        libc::mount(
            c"aw-modelfs".as_ptr(),
            target.as_ptr(),
            c"fuse.aw-modelfs".as_ptr(),
            libc::MS_NODEV | libc::MS_NOSUID,
            opts.as_ptr().cast(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid out-array of two ints.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        umount(dir);
        return Err(e);
    }
    // Room for the largest message (a write of `max_write` bytes) and more.
    for fd in fds {
        let size: libc::c_int = 4 << 20;
        // SAFETY: `fd` is an open socket; `size` outlives the call and its length is given.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_SNDBUFFORCE,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
    // SAFETY: socketpair just returned these two fds, owned by nobody else.
    let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let sock = File::from(ours);

    let (dev_reply, dev_fwd) = (dev.try_clone()?, dev.try_clone()?);
    let sock_in = sock.try_clone()?;
    let to_fuser = std::thread::spawn(move || kernel_to_fuser(dev, dev_reply, sock_in, live));
    let from_fuser = std::thread::spawn(move || fuser_to_kernel(sock, dev_fwd));
    Ok((
        theirs,
        Proxy {
            threads: vec![to_fuser, from_fuser],
        },
    ))
}

/// Reads requests from the kernel: answers `FUSE_TMPFILE`, forwards the rest.
/// On unmount (`ENODEV`) shuts the socket down, which ends `fuser` and the
/// other direction.
fn kernel_to_fuser(mut dev: File, mut reply: File, mut sock: File, live: Arc<Mutex<Live>>) {
    let mut buf = vec![0u8; BUF];
    loop {
        let n = match dev.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINTR | libc::ENOENT | libc::EAGAIN)
                ) =>
            {
                continue
            }
            Err(_) => break,
        };
        let req = &buf[..n];
        if n >= IN_HEADER && u32_at(req, 4) == FUSE_TMPFILE {
            let out = tmpfile(req, &live);
            let _ = reply.write(&out);
        } else if sock.write(req).is_err() {
            break;
        }
    }
    // SAFETY: `sock` is an open socket fd.
    unsafe { libc::shutdown(sock.as_raw_fd(), libc::SHUT_RDWR) };
}

/// Copies `fuser`'s replies to the kernel, one message per write.
fn fuser_to_kernel(mut sock: File, mut dev: File) {
    let mut buf = vec![0u8; BUF];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // ENOENT: the request was interrupted meanwhile; nothing to do.
                let _ = dev.write(&buf[..n]);
            }
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(_) => break,
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(b[at..at + 8].try_into().unwrap())
}

/// Answers a `FUSE_TMPFILE` request: an unnamed regular file in the model,
/// replied to as `FUSE_CREATE` is (`fuse_entry_out` then `fuse_open_out`).
fn tmpfile(req: &[u8], live: &Arc<Mutex<Live>>) -> Vec<u8> {
    let unique = u64_at(req, 8);
    let (uid, gid) = (u32_at(req, 24), u32_at(req, 28));
    // struct fuse_create_in { flags, mode, umask, open_flags }
    let (mode, umask) = (u32_at(req, IN_HEADER + 4), u32_at(req, IN_HEADER + 8));
    let perm = mode & !umask & 0o7777;
    let mut live = live.lock().unwrap_or_else(|e| e.into_inner());
    let ino = live.alloc_ino();
    live.serve(Op::Tmpfile {
        ino,
        inode: Inode {
            uid,
            gid,
            ..Inode::file(b"", perm)
        },
    });
    drop(live);
    let mut out = Vec::with_capacity(160);
    // struct fuse_out_header { len, error, unique }
    out.extend_from_slice(&160u32.to_ne_bytes());
    out.extend_from_slice(&0i32.to_ne_bytes());
    out.extend_from_slice(&unique.to_ne_bytes());
    // struct fuse_entry_out { nodeid, generation, entry_valid, attr_valid,
    // entry_valid_nsec, attr_valid_nsec, attr }
    for v in [ino, 0, 0, 0] {
        out.extend_from_slice(&v.to_ne_bytes());
    }
    out.extend_from_slice(&[0u8; 8]);
    // struct fuse_attr { ino, size, blocks, atime, mtime, ctime, atimensec,
    // mtimensec, ctimensec, mode, nlink, uid, gid, rdev, blksize, flags }
    for v in [ino, 0, 0, 0, 0, 0] {
        out.extend_from_slice(&v.to_ne_bytes());
    }
    // nlink 1: the kernel's d_tmpfile drops it to 0 and marks the inode linkable.
    for v in [0, 0, 0, libc::S_IFREG | perm, 1, uid, gid, 0, 4096, 0] {
        out.extend_from_slice(&v.to_ne_bytes());
    }
    // struct fuse_open_out { fh, open_flags, backing_id }
    out.extend_from_slice(&0u64.to_ne_bytes());
    out.extend_from_slice(&[0u8; 8]);
    debug_assert_eq!(out.len(), 160);
    out
}

impl Proxy {
    /// Waits for the proxy threads (after the unmount).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Unmounts `dir`, lazily if it is busy.
pub fn umount(dir: &Path) -> bool {
    let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path.
    if unsafe { libc::umount2(c.as_ptr(), 0) } == 0 {
        return true;
    }
    // SAFETY: as above.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    false
}
