//! The `atomic-write` command line (feature `cli`): replace a file atomically
//! with standard input, or with the output of a command that succeeds.
//!
//! [`run`] is the whole program; the `atomic-write` binary is
//! `ExitCode::from(atomic_write::cli::run(std::env::args_os()))`, and a
//! program embedding the CLI (the Python package) calls it the same way. The
//! options, exit statuses and messages are described by `atomic-write --help`
//! and its man page (`atomic-write --generate man`).
//!
//! Thin by design: parse, stream into an [`AtomicFile`], commit, map errors to
//! exit codes. Signals that would kill the process (SIGINT, SIGTERM, SIGHUP,
//! SIGPIPE) are blocked and only let through while waiting for input or for
//! the command, so one can interrupt the copy but never a commit halfway; on
//! one, the temp is removed, nothing is committed, and the process dies of
//! that signal. The command itself starts with none of that (an empty mask,
//! default dispositions) and is passed the signal (see `command.rs`).
//!
//! On Windows (`windows.rs`) there is none of the signal handling: the input
//! is streamed and committed, and the options Windows does not have are
//! refused with exit status 2.

use std::ffi::OsString;
#[cfg(unix)]
use std::fs::File;
#[cfg(unix)]
use std::io::Read;
use std::io::{self, Write};
#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::process::ExitStatus;
#[cfg(unix)]
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(unix)]
use std::sync::Arc;
use std::time::Duration;
#[cfg(unix)]
use std::time::Instant;

use crate::error::{context, note};
use crate::AtomicFile;
#[cfg(unix)]
use crate::{Durability, Options};
use args::Cli;
use clap::{CommandFactory, FromArgMatches};
#[cfg(unix)]
use nix::errno::Errno;
#[cfg(unix)]
use nix::fcntl::{fcntl, FcntlArg, OFlag};
#[cfg(all(unix, not(target_vendor = "apple")))]
pub(crate) use nix::poll::ppoll;
#[cfg(unix)]
use nix::poll::{PollFd, PollFlags};
#[cfg(unix)]
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
#[cfg(unix)]
use nix::sys::socket::{getsockopt, sockopt};
#[cfg(unix)]
use nix::sys::stat::{fstat, SFlag};
#[cfg(unix)]
use nix::unistd::read;

mod args;
#[cfg(unix)]
mod command;
mod generate;
#[cfg(unix)]
mod validate;
#[cfg(windows)]
mod windows;

/// Regular-file input moves through `copy_file_range` in chunks this big, with a
/// check for signals between them.
#[cfg(unix)]
const CHUNK: u64 = 64 << 20;
/// Buffer for pipes and terminals, on the stack (no allocation, no `mmap`):
/// a pipe's default capacity, constant memory whatever the input size.
#[cfg(unix)]
const BUF: usize = 64 << 10;
/// How long `-a` waits for another appender by default (`--wait`).
const DEFAULT_WAIT: Duration = crate::append::DEFAULT_LOCK_TIMEOUT;
#[cfg(unix)]
const SIGNALS: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGPIPE,
];

/// Why the write did not happen.
enum Failure {
    /// An I/O error: exit 1.
    Io(io::Error),
    /// A signal arrived: die of it.
    #[cfg(unix)]
    Signal(i32),
    /// The command failed: exit with its status.
    Command(ExitStatus),
    /// The command could not be started: exit 126 or 127, as shells do.
    Spawn(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Runs `atomic-write` with the command line `args` (`argv[0]` first, as
/// [`std::env::args_os`] gives it) and returns its exit status: 0 success; 1
/// an I/O error (one line on standard error); 2 a usage error; with
/// `-- COMMAND`, the command's own status (or 128 + its signal) if it fails;
/// 126 or 127 if it cannot be started. `--help`, `--version` and
/// `--generate` print to standard output and return 0.
///
/// It reads standard input (or the command's output) and writes the messages
/// to standard error, as the binary does. For the time it runs, SIGINT,
/// SIGTERM, SIGHUP and SIGPIPE are blocked and handled (SIGCHLD too). One
/// that arrives while it waits for input or for the command removes the
/// temp file, nothing is committed, and then the process **dies of that
/// signal** (its default action), as the binary would. One that arrives
/// during the commit does not stop it, and is dropped. On return the
/// handlers are unregistered and the signal mask is restored, and those of
/// SIGINT, SIGTERM and SIGHUP whose action was the default before the first
/// `run` have the default action again (a handler installed before, such as
/// Python's for SIGINT, is called again). Meant for a program's `main` or a
/// script's entry point: one call at a time, from the main thread. (The
/// signals are Unix's: on Windows none is handled.)
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> u8 {
    // Cli::parse(), with the hidden `--generate KIND` (man page, completions).
    let matches = match generate::command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => return usage(&e),
    };
    if let Some(kind) = generate::requested(&matches) {
        return generate::print(kind);
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage(&e.format(&mut Cli::command())),
    };
    #[cfg(windows)]
    if let Some(option) = windows::unsupported(&cli) {
        eprintln!("atomic-write: {option} is Unix-only: Windows does not have it");
        return 2;
    }
    #[cfg(unix)]
    let caught = Arc::new(AtomicUsize::new(0));
    #[cfg(unix)]
    let guard = match guard_signals(&caught) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("atomic-write: failed to set up signal handling: {e}");
            return 1;
        }
    };
    let result = if cli.sweep {
        sweep(&cli)
    } else {
        #[cfg(unix)]
        let written = write(&cli, &caught);
        #[cfg(windows)]
        let written = windows::write(&cli);
        written
    };
    let status = match result {
        Ok(()) => 0,
        Err(Failure::Io(e)) => {
            report(&cli.path, e);
            1
        }
        Err(Failure::Spawn(e)) => {
            report(
                Path::new(&cli.command[0]),
                format_args!("failed to run command: {e}"),
            );
            if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            }
        }
        Err(Failure::Command(status)) => {
            #[cfg(unix)]
            let code = {
                use std::os::unix::process::ExitStatusExt;
                status.code().or(status.signal().map(|s| 128 + s))
            };
            #[cfg(windows)]
            let code = status.code();
            let code = code.unwrap_or(1);
            report(&cli.path, format_args!("not written: command {status}"));
            u8::try_from(code).unwrap_or(1)
        }
        #[cfg(unix)]
        Err(Failure::Signal(sig)) => die_of(sig),
    };
    #[cfg(unix)]
    drop(guard);
    status
}

/// Prints a clap error (or `--help`, `--version`) where clap would, and
/// returns its exit status (2, or 0 for help and version) instead of exiting.
fn usage(e: &clap::Error) -> u8 {
    let _ = e.print();
    u8::try_from(e.exit_code()).unwrap_or(2)
}

fn sweep(cli: &Cli) -> Result<(), Failure> {
    let n = crate::sweep(&cli.path, Duration::from_secs(cli.older_than))?;
    if n > 0 {
        report(
            &cli.path,
            format_args!("removed {n} stale temporary file(s)"),
        );
    }
    Ok(())
}

#[cfg(unix)]
fn write(cli: &Cli, caught: &AtomicUsize) -> Result<(), Failure> {
    if cli.command.is_empty() {
        check_stdin()?;
    }
    let mut opts = Options::new();
    opts.no_clobber(cli.no_clobber)
        .force(cli.force)
        .append(cli.append)
        .follow_symlinks(!cli.no_follow)
        .preserve_xattrs(!cli.no_xattrs)
        .durability(if cli.no_sync {
            Durability::None
        } else {
            Durability::Full
        });
    if let Some(m) = cli.mode {
        opts.mode(m);
    }
    opts.create_parents(cli.parents);
    // A test hook (README, TESTING.md): the named-temp path, as on a
    // filesystem without O_TMPFILE, so the suites can drive it through the CLI.
    if std::env::var_os("ATOMIC_WRITE_NO_TMPFILE").is_some_and(|v| v != "0") {
        opts.unnamed_temp(false);
    }
    if let Some(suffix) = &cli.backup {
        opts.backup(suffix);
    }
    // Identical content costs no temp: compared while it is read (standard
    // input or the command's output), the temp created only at the first
    // difference.
    if cli.if_changed {
        if let Some(current) = crate::changed::Current::open(&cli.path, &opts)? {
            // A file of another size as input: changed, no need to read it.
            if !cli.command.is_empty() || !stdin_size_differs(current.size)? {
                return write_if_changed(cli, &opts, &current, caught);
            }
        }
    }
    let mut file = create(&mut opts, cli, caught)?;
    match fill(cli, &mut file, caught) {
        Ok(()) => {}
        // Removing the temp can be refused too (an append-only directory):
        // the message must say that it was left behind.
        Err(Failure::Io(e)) => {
            return Err(match file.discard() {
                Ok(()) => Failure::Io(e),
                Err(d) => Failure::Io(note(e, || format!("and {d}"))),
            })
        }
        Err(f) => {
            if let Err(d) = file.discard() {
                report(&cli.path, d);
            }
            return Err(f);
        }
    }
    if let Err(f) = validate::check(cli, &mut file, caught) {
        return Err(discarded(cli, file, f));
    }
    if cli.if_changed {
        let changed = file.commit_if_changed()?;
        print_changed(cli, changed);
    } else {
        file.commit()?;
    }
    Ok(())
}

#[cfg(unix)]
/// `--if-changed` where the result of identical content is known without a
/// temp ([`Current::open`](crate::changed::Current::open)): the input
/// (standard input, or the command's output) is compared with the target as
/// it is read; identical to the end, nothing is created, written or synced
/// ("unchanged", on a full or read-only filesystem too). At the first
/// difference the temp is created, the identical prefix copied into it from
/// the target (`copy_file_range`), the block that differs written, the rest
/// of the input streamed, and the write committed as ever. A command still
/// decides: one that fails commits nothing (identical output or not) and its
/// status is ours, as without `--if-changed`.
fn write_if_changed(
    cli: &Cli,
    opts: &Options,
    current: &crate::changed::Current,
    caught: &AtomicUsize,
) -> Result<(), Failure> {
    let (off, file) = if cli.command.is_empty() {
        let stdin = File::from(retry_interrupted(|| {
            io::stdin().as_fd().try_clone_to_owned()
        })?);
        read_lazily(cli, opts, current, stdin.as_fd(), caught, "standard input")?
    } else {
        let mut child = command::spawn(&cli.command).map_err(Failure::Spawn)?;
        let out = OwnedFd::from(child.stdout.take().expect("piped"));
        let read = check_signals(caught).and_then(|()| {
            read_lazily(
                cli,
                opts,
                current,
                out.as_fd(),
                caught,
                "the command's output",
            )
        });
        // As in `fill`: our end of the pipe closed first.
        drop(out);
        let (off, file) = match read {
            Ok(r) => r,
            Err(Failure::Signal(sig)) => {
                command::stop(&mut child, sig, caught);
                return Err(Failure::Signal(sig));
            }
            Err(e) => {
                // Ours to stop: we started it, by this PID.
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let status = command::wait(&mut child, caught).and_then(|status| {
            if status.success() {
                Ok(())
            } else {
                Err(Failure::Command(status))
            }
        });
        if let Err(f) = status {
            return Err(match file {
                Some(file) => discarded(cli, file, f),
                None => f,
            });
        }
        (off, file)
    };
    let file = match file {
        Some(file) => file,
        // Identical to the end of the input, and the target ends there too:
        // nothing to do.
        None if current.ends_at(off)? => {
            print_changed(cli, false);
            return Ok(());
        }
        // The target is longer: the new content is a prefix of it.
        None => start_temp(cli, opts, current, off, &[])?,
    };
    let mut file = file;
    if let Err(f) = check_signals(caught).and_then(|()| validate::check(cli, &mut file, caught)) {
        return Err(discarded(cli, file, f));
    }
    // It differs from the target read: commit without comparing again.
    file.commit()?;
    print_changed(cli, true);
    Ok(())
}

#[cfg(unix)]
/// Reads `src` to its end, comparing it with the target; at the first
/// difference creates the temp ([`start_temp`]) and streams the rest into
/// it. Returns how much was read and the temp if one was needed (`None`:
/// all of the input is identical to the target's first bytes).
fn read_lazily(
    cli: &Cli,
    opts: &Options,
    current: &crate::changed::Current,
    src: BorrowedFd<'_>,
    caught: &AtomicUsize,
    from: &str,
) -> Result<(u64, Option<AtomicFile>), Failure> {
    let read_failed = |e| failed(e, format!("failed to read {from}"));
    // Blocks of the compare's size: neither file is read in one go.
    let mut buf = vec![0u8; crate::changed::BLOCK];
    let mut off = 0u64;
    loop {
        wait_readable(src, caught).map_err(|f| match f {
            Failure::Io(e) => read_failed(e),
            f => f,
        })?;
        let n = match read(src.as_raw_fd(), &mut buf) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(read_failed(io::Error::from(e))),
        };
        check_signals(caught)?;
        if n == 0 {
            return Ok((off, None));
        }
        if !current.same_at(&buf[..n], off)? {
            let mut file = start_temp(cli, opts, current, off, &buf[..n])?;
            let rest = copy(src, &mut file, caught, from).and_then(|()| check_signals(caught));
            if let Err(f) = rest {
                return Err(discarded(cli, file, f));
            }
            return Ok((off + n as u64, Some(file)));
        }
        off += n as u64;
    }
}

#[cfg(unix)]
/// Creates the temp and fills it with the target's first `prefix` bytes (the
/// identical part, copied from the target: `copy_file_range` where it can),
/// then `block`.
fn start_temp(
    cli: &Cli,
    opts: &Options,
    current: &crate::changed::Current,
    prefix: u64,
    block: &[u8],
) -> Result<AtomicFile, Failure> {
    let mut file = opts.create(&cli.path)?;
    let target = file.target().to_path_buf();
    let filled = retry_interrupted(|| {
        let done = io::Seek::stream_position(file.as_file_mut())?;
        io::copy(&mut (&current.file).take(prefix - done), file.as_file_mut())
    })
    .map_err(|e| {
        failed(
            e,
            format!("failed to copy {target:?} to its temporary file"),
        )
    })
    .and_then(|_| {
        file.as_file_mut()
            .write_all(block)
            .map_err(|e| failed(e, format!("failed to write temporary file for {target:?}")))
    });
    match filled {
        Ok(()) => Ok(file),
        Err(f) => Err(discarded(cli, file, f)),
    }
}

/// `f`, after the temp `file` was removed; a failure to remove it is noted
/// in an I/O error's message, or reported on its own line.
fn discarded(cli: &Cli, file: AtomicFile, f: Failure) -> Failure {
    match (f, file.discard()) {
        (f, Ok(())) => f,
        (Failure::Io(e), Err(d)) => Failure::Io(note(e, || format!("and {d}"))),
        (f, Err(d)) => {
            report(&cli.path, d);
            f
        }
    }
}

/// With `--print-changed`: "changed" or "unchanged" on standard output.
fn print_changed(cli: &Cli, changed: bool) {
    if cli.print_changed {
        let word = if changed { "changed" } else { "unchanged" };
        // The write is done: a closed stdout (EPIPE) must not turn it into a failure.
        let _ = writeln!(io::stdout(), "{word}");
    }
}

#[cfg(unix)]
/// Whether standard input is a regular file whose remaining length is not
/// `size` (a pipe's length is not known: `false`).
fn stdin_size_differs(size: u64) -> io::Result<bool> {
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

#[cfg(unix)]
/// `opts.create(PATH)`; with `-a`, the wait for another appender's lock is
/// ours (the library is told not to wait): up to `--wait` seconds (10 by
/// default), trying again with pauses of 1 ms growing to 50 ms, with the
/// guarded signals let through meanwhile — so `timeout 3 atomic-write -a f`
/// ends, with nothing created. After the wait, the library's last error
/// (naming the file and the holder's pid) says how long we waited.
fn create(opts: &mut Options, cli: &Cli, caught: &AtomicUsize) -> Result<AtomicFile, Failure> {
    if !cli.append {
        return Ok(opts.create(&cli.path)?);
    }
    let wait = cli.wait.unwrap_or(DEFAULT_WAIT);
    opts.lock_timeout(Duration::ZERO);
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match opts.create(&cli.path) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let left = wait.saturating_sub(start.elapsed());
                if left.is_zero() {
                    return Err(Failure::Io(note(e, || {
                        format!("gave up after waiting {} s (--wait)", wait.as_secs_f64())
                    })));
                }
                // Woken early by a guarded signal, which is then reported.
                let _ = ppoll(&mut [], Some(pause.min(left).into()), Some(SigSet::empty()));
                check_signals(caught)?;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            r => return Ok(r?),
        }
    }
}

#[cfg(unix)]
/// Fills `file` from standard input or the command's output; `Ok` once all of
/// it was read and no signal arrived.
fn fill(cli: &Cli, file: &mut AtomicFile, caught: &AtomicUsize) -> Result<(), Failure> {
    if cli.command.is_empty() {
        // Read through the descriptor itself (std's `Stdin` buffers).
        copy(io::stdin().as_fd(), file, caught, "standard input")?;
    } else {
        let mut child = command::spawn(&cli.command).map_err(Failure::Spawn)?;
        let out = OwnedFd::from(child.stdout.take().expect("piped"));
        let copied = check_signals(caught)
            .and_then(|()| copy(out.as_fd(), file, caught, "the command's output"));
        // Our end of the pipe closed first: a command that goes on writing
        // after a signal gets EPIPE instead of blocking on a full pipe.
        drop(out);
        match copied {
            Ok(()) => {}
            Err(Failure::Signal(sig)) => {
                command::stop(&mut child, sig, caught);
                return Err(Failure::Signal(sig));
            }
            Err(e) => {
                // Ours to stop: we started it, by this PID.
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
        let status = command::wait(&mut child, caught)?;
        if !status.success() {
            return Err(Failure::Command(status));
        }
    }
    check_signals(caught)
}

#[cfg(unix)]
/// Streams `src` to the end into `file`, giving up when a signal arrives. A
/// failed read names `from`; a failed write, the temporary file.
///
/// Writes through the crate's own handle on the temp: the CLI changes no
/// metadata through it, so the commit needs no second `fstat` of the temp.
fn copy(
    src: BorrowedFd<'_>,
    file: &mut AtomicFile,
    caught: &AtomicUsize,
    from: &str,
) -> Result<(), Failure> {
    let target = file.target().to_path_buf();
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
                return Ok(());
            }
        }
    }
    let mut buf = [0u8; BUF];
    loop {
        wait_readable(src, caught).map_err(|f| match f {
            Failure::Io(e) => read_failed(e),
            f => f,
        })?;
        let n = match read(src.as_raw_fd(), &mut buf) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(read_failed(io::Error::from(e))),
        };
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n]).map_err(write_failed)?;
    }
}

#[cfg(unix)]
/// Retries `f` while it fails with `EINTR`.
fn retry_interrupted<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// `e` as the failure of the step `what`, keeping its kind and errno.
fn failed(e: io::Error, what: String) -> Failure {
    Failure::Io(context(e, || what))
}

/// The one line on standard error: `atomic-write: "PATH": MESSAGE`, the path
/// quoted as the library's messages quote paths, so a newline or an escape
/// byte in a name can neither split the line nor reach the terminal raw.
fn report(path: &Path, message: impl std::fmt::Display) {
    eprintln!("atomic-write: {path:?}: {message}");
}

#[cfg(unix)]
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
fn check_stdin() -> io::Result<()> {
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

#[cfg(unix)]
/// Blocks until `src` is readable, with the guarded signals let through
/// meanwhile (atomically, so none is missed).
fn wait_readable(src: BorrowedFd<'_>, caught: &AtomicUsize) -> Result<(), Failure> {
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

/// `ppoll` where the system has none (Apple): the mask swapped in around a
/// `poll` that waits at most [`TICK`]. A signal the swap lets through is
/// delivered before `poll` starts, so a wait misses it for one tick at most;
/// a wait without a timeout that ends on the tick answers `EINTR`, so the
/// callers look at their flags and wait again.
#[cfg(target_vendor = "apple")]
pub(crate) fn ppoll(
    fds: &mut [PollFd<'_>],
    timeout: Option<nix::sys::time::TimeSpec>,
    sigmask: Option<SigSet>,
) -> nix::Result<libc::c_int> {
    use nix::poll::{poll, PollTimeout};
    /// The longest a wait goes without looking at the signal flags.
    const TICK: Duration = Duration::from_millis(50);
    let wait = timeout.map_or(TICK, |t| Duration::from(t).min(TICK));
    let mut old = SigSet::empty();
    if let Some(mask) = &sigmask {
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(mask), Some(&mut old))?;
    }
    let polled = poll(fds, PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX));
    if sigmask.is_some() {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    }
    match polled {
        Ok(0) if timeout.is_none() => Err(Errno::EINTR),
        r => r,
    }
}

#[cfg(unix)]
/// Lets pending guarded signals run their handler, then reports any caught.
fn check_signals(caught: &AtomicUsize) -> Result<(), Failure> {
    let _ = ppoll(&mut [], Some(Duration::ZERO.into()), Some(SigSet::empty()));
    match caught.load(Ordering::SeqCst) {
        0 => Ok(()),
        sig => Err(Failure::Signal(sig as i32)),
    }
}

#[cfg(unix)]
/// Records the guarded signals in `caught` and blocks them, so they only
/// arrive inside [`wait_readable`] and [`check_signals`] (and the command's
/// waits). SIGCHLD gets a handler too, blocked the same way, so that the end
/// of the command interrupts those waits.
///
/// A signal ignored when we were started (`nohup`'s SIGHUP, SIGINT for a
/// shell's `&` job) stays ignored, for us and (through `exec`) the command,
/// as a shell leaves it. Not SIGPIPE: Rust's runtime ignores it before
/// `main`, so how we were started is unknown, and a writer's SIGPIPE is ours.
fn guard_signals(caught: &Arc<AtomicUsize>) -> io::Result<Guard> {
    let (ignored, handled) = dispositions();
    // Once per process, before our handlers exist: the guarded signals whose
    // action is the default get it back between `run`s (a program that calls
    // `run` and goes on must still die of SIGTERM).
    let outside = OUTSIDE.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            if (ignored | handled) & bit(sig) == 0 {
                let _ =
                    signal_hook::flag::register_conditional_default(sig as i32, Arc::clone(&flag));
            }
        }
        flag
    });
    outside.store(false, Ordering::SeqCst);
    let mut guard = Guard {
        ids: Vec::new(),
        mask: SigSet::empty(),
    };
    let mut set = SigSet::empty();
    for sig in SIGNALS {
        if sig != Signal::SIGPIPE && ignored & bit(sig) != 0 {
            continue;
        }
        let id = signal_hook::flag::register_usize(sig as i32, Arc::clone(caught), sig as usize)?;
        guard.ids.push(id);
        set.add(sig);
    }
    let id = signal_hook::flag::register(libc::SIGCHLD, Arc::new(AtomicBool::new(false)))?;
    guard.ids.push(id);
    set.add(Signal::SIGCHLD);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut guard.mask))
        .map_err(io::Error::from)?;
    Ok(guard)
}

#[cfg(unix)]
/// Set while no [`run`] is in progress: see [`guard_signals`].
static OUTSIDE: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();

#[cfg(unix)]
/// `sig`'s bit in the masks of `/proc/self/status`.
fn bit(sig: Signal) -> u64 {
    1 << (sig as i32 - 1)
}

#[cfg(unix)]
/// What [`guard_signals`] set up, undone when dropped, for a program that
/// goes on after [`run`]: a guarded signal still pending (it came during the
/// commit, which it does not stop) is taken by our handlers, which are then
/// unregistered; the signal mask is restored; then a signal whose action was
/// the default has it again.
struct Guard {
    ids: Vec<signal_hook::SigId>,
    mask: SigSet,
}

#[cfg(unix)]
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = ppoll(&mut [], Some(Duration::ZERO.into()), Some(SigSet::empty()));
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.mask), None);
        if let Some(outside) = OUTSIDE.get() {
            outside.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(unix)]
/// The signals ignored and the signals handled (as masks, bit N-1 for signal
/// N), from `/proc/self/status`; none known without procfs. Ignored when we
/// were started: `nohup`'s SIGHUP, a shell's `&` job's SIGINT.
fn dispositions() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .unwrap_or(0)
    };
    (mask("SigIgn:"), mask("SigCgt:"))
}

#[cfg(unix)]
/// Dies of `sig` (after the temp has been removed), as if it had not been caught.
fn die_of(sig: i32) -> u8 {
    let mut set = SigSet::empty();
    for s in SIGNALS {
        set.add(s);
    }
    let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    u8::try_from(128 + sig).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(args: &[&str]) -> u8 {
        run(args.iter().map(OsString::from))
    }

    /// Usage errors, `--help` and `--version` are returned, not exited: the
    /// test process goes on.
    #[test]
    fn run_returns_usage_statuses() {
        assert_eq!(run_with(&["atomic-write"]), 2);
        assert_eq!(run_with(&["atomic-write", "-m", "9", "x"]), 2);
        assert_eq!(run_with(&["atomic-write", "--version"]), 0);
        assert_eq!(run_with(&["atomic-write", "--help"]), 0);
    }

    /// `--help` names the options Windows does not have as Unix-only.
    #[test]
    fn help_says_which_options_are_unix_only() {
        let help = Cli::command().render_long_help().to_string();
        let xattrs = help.find("--no-xattrs").expect("--no-xattrs in --help");
        let unix_only = help[xattrs..].find("(Unix only").expect("marked Unix-only");
        assert!(
            help[xattrs..xattrs + unix_only].lines().count() < 8,
            "{help}"
        );
    }

    #[cfg(unix)]
    /// A program that calls `run` and goes on: the write is done, SIGTERM
    /// (default action before) kills it again afterwards, and a second `run`
    /// works. In a child process, this test binary run again.
    #[test]
    fn run_restores_the_signal_dispositions() {
        use std::os::unix::process::ExitStatusExt;
        const CHILD: &str = "ATOMIC_WRITE_RUN_CHILD";
        if let Some(dir) = std::env::var_os(CHILD) {
            let path = Path::new(&dir).join("f");
            let path = path.to_str().expect("UTF-8 temp dir");
            assert_eq!(run_with(&["atomic-write", path]), 0);
            assert_eq!(run_with(&["atomic-write", "--append", path]), 0);
            let mask = SigSet::thread_get_mask().expect("sigprocmask");
            assert!(!mask.contains(Signal::SIGTERM), "SIGTERM still blocked");
            let _ = nix::sys::signal::raise(Signal::SIGTERM);
            std::thread::sleep(Duration::from_secs(5));
            panic!("survived SIGTERM");
        }
        let dir = std::env::temp_dir().join(format!("aw-run-child-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("input");
        std::fs::write(&input, b"hello\n").unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cli::tests::run_restores_the_signal_dispositions",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD, &dir)
            .stdin(File::open(&input).unwrap())
            .output()
            .unwrap();
        let written = std::fs::read(dir.join("f"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGTERM),
            "{:?}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The second run appended an empty standard input (read to its end).
        assert_eq!(written.unwrap(), b"hello\n");
    }

    #[cfg(unix)]
    /// The CLI's own steps ("failed to read standard input", a failed
    /// discard noted after the first error) keep the errno underneath.
    #[test]
    fn wrapped_errors_keep_the_errno() {
        let e = io::Error::from_raw_os_error(libc::ENOSPC);
        let Failure::Io(e) = failed(e, "failed to read standard input".into()) else {
            panic!("not an I/O failure")
        };
        assert!(
            e.to_string().starts_with("failed to read standard input: "),
            "{e}"
        );
        assert_eq!(crate::os_error(&e), Some(libc::ENOSPC));
        let noted = note(e, || "and the temp was left behind".into());
        assert_eq!(crate::os_error(&noted), Some(libc::ENOSPC));
        assert_eq!(noted.kind(), io::ErrorKind::StorageFull);
    }
}
