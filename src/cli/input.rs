//! Reading the input: standard input checked before anything is created,
//! then streamed (or the command's output) into the temp, a block or a
//! `copy_file_range` chunk at a time, with the guarded signals let through
//! while waiting for it (a pipe's data that is there already is read without
//! waiting, `preadv2(RWF_NOWAIT)`) and between chunks.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::AtomicUsize;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags};
use nix::sys::signal::SigSet;
use nix::sys::socket::{getsockopt, sockopt};
use nix::sys::stat::{fstat, SFlag};
use nix::unistd::read;

use super::signals::{check_signals, ppoll};
use super::{command, failed, Failure};
use crate::error::context;
use crate::AtomicFile;

/// Regular-file input moves through `copy_file_range` in chunks this big, with a
/// check for signals between them.
const CHUNK: u64 = 64 << 20;
/// Buffer for pipes and terminals, on the stack (no allocation, no `mmap`):
/// a pipe's default capacity, constant memory whatever the input size.
const BUF: usize = 64 << 10;
/// Reads of input that was there without waiting after which the guarded
/// signals are let through all the same (16 × [`BUF`]: 1 MiB).
const SIGNAL_EVERY: u32 = 16;

/// Whether standard input is a regular file whose remaining length is not
/// `size` (a pipe's length is not known: `false`).
pub(super) fn stdin_size_differs(size: u64) -> io::Result<bool> {
    let stdin = File::from(retry_interrupted(|| {
        io::stdin().as_fd().try_clone_to_owned()
    })?);
    let meta = retry_interrupted(|| stdin.metadata())?;
    if !meta.is_file() {
        return Ok(false);
    }
    let at = retry_interrupted(|| io::Seek::stream_position(&mut &stdin))?;
    Ok(meta.len().saturating_sub(at) != size)
}

/// Streams `src` to the end into `file`, giving up when a signal arrives;
/// returns how many bytes it copied. A failed read names `from`; a failed
/// write, the temporary file.
///
/// Writes through the crate's own handle on the temp: the CLI changes no
/// metadata through it, so the commit needs no second `fstat` of the temp.
pub(super) fn copy(
    src: BorrowedFd<'_>,
    file: &mut AtomicFile,
    caught: &AtomicUsize,
    from: &str,
) -> Result<u64, Failure> {
    let target = file.target().to_path_buf();
    let mut copied = 0;
    let read_failed = |e| failed(e, format!("failed to read {from}"));
    let write_failed = |e| failed(e, format!("failed to write temporary file for {target:?}"));
    let mut out = file.temp_file();
    let meta = retry_interrupted(|| Ok(fstat(src.as_raw_fd())?)).map_err(read_failed)?;
    if SFlag::from_bits_truncate(meta.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG {
        // The kernel's copy path (copy_file_range), a chunk at a time. Its EINTR
        // (which io::copy passes on there) loses nothing: the offsets say where
        // to resume. One call reads and writes: the errno says which side
        // failed where it can (a full disk or quota is the temp's write).
        let src = File::from(retry_interrupted(|| src.try_clone_to_owned()).map_err(read_failed)?);
        loop {
            let n =
                retry_interrupted(|| io::copy(&mut (&src).take(CHUNK), &mut out)).map_err(|e| {
                    match e.raw_os_error() {
                        Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG) => write_failed(e),
                        _ => failed(
                            e,
                            format!("failed to copy {from} to the temporary file for {target:?}"),
                        ),
                    }
                })?;
            check_signals(caught)?;
            if n == 0 {
                return Ok(copied);
            }
            copied += n;
        }
    }
    let mut buf = [0u8; BUF];
    // Reads since the guarded signals were last let through.
    let mut unchecked = 0;
    loop {
        // What is there already is read without waiting (no `ppoll` for a
        // short input that has all arrived: `printf … |`); only when the
        // input has nothing yet does the wait let the signals through.
        let n = match crate::sys::read_nowait(src, &mut buf) {
            Ok(Some(n)) => {
                unchecked += 1;
                // Input that never stops coming never waits: the signals
                // are let through every so often all the same.
                if unchecked == SIGNAL_EVERY {
                    unchecked = 0;
                    check_signals(caught)?;
                }
                n
            }
            Ok(None) => {
                unchecked = 0;
                wait_readable(src, caught).map_err(|f| match f {
                    Failure::Io(e) => read_failed(e),
                    f => f,
                })?;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                wait_readable(src, caught).map_err(|f| match f {
                    Failure::Io(e) => read_failed(e),
                    f => f,
                })?;
                match read(src.as_raw_fd(), &mut buf) {
                    Ok(n) => n,
                    Err(Errno::EINTR) => continue,
                    Err(e) => return Err(read_failed(io::Error::from(e))),
                }
            }
            Err(e) => return Err(read_failed(e)),
        };
        if n == 0 {
            return Ok(copied);
        }
        out.write_all(&buf[..n]).map_err(write_failed)?;
        copied += n as u64;
    }
}

/// Retries `f` while it fails with `EINTR`.
pub(super) fn retry_interrupted<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Refuses, before anything is created, standard input that can never
/// deliver input (where waiting on it would hang or read nothing):
///
/// - closed when we were started (`atomic-write f <&-`): Rust's runtime
///   reopens it as `/dev/null`, read-write, before `main`; reading that
///   "succeeds" with no bytes and would replace PATH with an empty file. A
///   shell's `< /dev/null` opens it read-only, so only a read-write
///   `/dev/null` (rare on purpose: `0<> /dev/null`) is refused;
/// - open for writing only (`0>&1`), which poll never reports readable;
/// - a listening socket, which poll reports readable only when a connection
///   arrives, and which no read accepts (`cat` fails at once with `EINVAL`).
pub(super) fn check_stdin() -> io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let refuse = |errno, why: &str| {
        context(io::Error::from_raw_os_error(errno), || {
            format!("failed to read standard input ({why})")
        })
    };
    let stdin = io::stdin();
    let flags = retry_interrupted(|| Ok(fcntl(stdin.as_raw_fd(), FcntlArg::F_GETFL)?))?;
    let access = OFlag::from_bits_truncate(flags) & OFlag::O_ACCMODE;
    if access == OFlag::O_WRONLY {
        return Err(refuse(libc::EBADF, "open for writing only"));
    }
    if getsockopt(&stdin.as_fd(), sockopt::AcceptConn) == Ok(true) {
        return Err(refuse(libc::EINVAL, "a listening socket"));
    }
    if access != OFlag::O_RDWR {
        return Ok(());
    }
    let meta = File::from(stdin.as_fd().try_clone_to_owned()?).metadata()?;
    let is_null = meta.file_type().is_char_device()
        && std::fs::metadata("/dev/null").is_ok_and(|n| n.rdev() == meta.rdev());
    if is_null {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "failed to read standard input: it is closed",
        ));
    }
    Ok(())
}

/// Blocks until `src` is readable, with the guarded signals let through
/// meanwhile (atomically, so none is missed).
pub(super) fn wait_readable(src: BorrowedFd<'_>, caught: &AtomicUsize) -> Result<(), Failure> {
    loop {
        let mut fds = [PollFd::new(src, PollFlags::POLLIN)];
        match ppoll(&mut fds, None, Some(SigSet::empty())) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => {
                // SIGCHLD: an orphan of the command ended (or the command).
                command::reap_adopted();
                check_signals(caught)?
            }
            Err(e) => return Err(io::Error::from(e).into()),
        }
    }
}
