//! The write (Unix): options from the command line, the temp created and
//! filled from standard input or the command's output, then committed; with
//! `--if-changed`, compared as it is read, the temp created only at the
//! first difference.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::SigSet;
use nix::unistd::read;

use super::args::mode::Mode;
use super::args::Cli;
use super::input::{check_stdin, copy, retry_interrupted, stdin_size_differs, wait_readable};
use super::signals::{check_signals, ppoll};
use super::{
    command, discarded, failed, input_name, no_empty, print_changed, report, symbolic, validate,
    with_mode, Failure, DEFAULT_WAIT,
};
use crate::error::note;
use crate::{AtomicFile, Durability, Options};

pub(super) fn write(cli: &Cli, caught: &AtomicUsize) -> Result<(), Failure> {
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
    if let Some(Mode::Octal(m)) = cli.mode {
        opts.mode(m);
    }
    opts.create_parents(cli.parents);
    // A test hook (README, TESTING.md): the named-temp path, as on a
    // filesystem without O_TMPFILE, so the suites can drive it through the CLI.
    if std::env::var_os("ATOMIC_WRITE_NO_TMPFILE").is_some_and(|v| v != "0") {
        opts.unnamed_temp(false);
    }
    // Checked in `run`.
    opts.backup_kind(super::backup::kind_of(cli).ok().flatten());
    // Identical content costs no temp: compared while it is read (standard
    // input or the command's output), the temp created only at the first
    // difference.
    if cli.if_changed {
        if let Some(current) = crate::changed::Current::open(&cli.path, &opts)? {
            // A symbolic -m that changes the target's mode: changed, as is
            // a file of another size as input; no need to read it.
            let mode_kept =
                symbolic(cli).is_none_or(|m| m.apply(current.mode, umask()) == current.mode);
            if mode_kept && (!cli.command.is_empty() || !stdin_size_differs(current.size)?) {
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
    // `--validate`: the checker's verdict before anything is committed.
    if let Err(f) = validate::check(cli, &mut file, caught) {
        return Err(discarded(cli, file, f));
    }
    Ok(super::commit(cli, file)?)
}

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
pub(super) fn write_if_changed(
    cli: &Cli,
    opts: &Options,
    current: &crate::changed::Current,
    caught: &AtomicUsize,
) -> Result<(), Failure> {
    let (off, file) = if cli.command.is_empty() {
        let stdin = File::from(retry_interrupted(|| {
            io::stdin().as_fd().try_clone_to_owned()
        })?);
        read_lazily(cli, opts, current, stdin.as_fd(), caught, input_name(cli))?
    } else {
        let mut child = command::spawn(&cli.command).map_err(Failure::Spawn)?;
        let out = OwnedFd::from(child.stdout.take().expect("piped"));
        let read = check_signals(caught)
            .and_then(|()| read_lazily(cli, opts, current, out.as_fd(), caught, input_name(cli)));
        // As in `fill`: our end of the pipe closed first.
        drop(out);
        let (off, file) = command::after_read(&mut child, read, caught)?;
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
    if file.is_none() {
        // No temp: nothing read differed (nothing read at all, for one).
        no_empty(cli, off)?;
    }
    let mut file = match file {
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
    if let Err(f) = check_signals(caught).and_then(|()| validate::check(cli, &mut file, caught)) {
        return Err(discarded(cli, file, f));
    }
    // It differs from the target read: commit without comparing again.
    file.commit()?;
    print_changed(cli, true);
    Ok(())
}

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
            let rest = copy(src, &mut file, caught, from).and_then(|_| check_signals(caught));
            if let Err(f) = rest {
                return Err(discarded(cli, file, f));
            }
            return Ok((off + n as u64, Some(file)));
        }
        off += n as u64;
    }
}

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
    let mut file = with_mode(cli, opts.create(&cli.path)?)?;
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

/// `opts.create(PATH)`; with `-a`, the wait for another appender's lock is
/// ours (the library is told not to wait): up to `--wait` seconds (10 by
/// default), trying again with pauses of 1 ms growing to 50 ms, with the
/// guarded signals let through meanwhile — so `timeout 3 atomic-write -a f`
/// ends, with nothing created. After the wait, the library's last error
/// (naming the file and the holder's pid) says how long we waited.
fn create(opts: &mut Options, cli: &Cli, caught: &AtomicUsize) -> Result<AtomicFile, Failure> {
    if !cli.append {
        return with_mode(cli, opts.create(&cli.path)?);
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
            r => return with_mode(cli, r?),
        }
    }
}

/// The process's umask: from `/proc/self/status` (Linux), else set and
/// restored (another thread creating a file meanwhile would see 0 for an instant,
/// so only where procfs has no `Umask:` line).
pub(super) fn umask() -> u32 {
    let from_proc = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|m| u32::from_str_radix(m.trim(), 8).ok())
        });
    from_proc.unwrap_or_else(|| {
        use nix::sys::stat::{umask, Mode as Bits};
        let old = umask(Bits::empty());
        umask(old);
        // mode_t is u16 on Apple, u32 elsewhere.
        #[allow(clippy::useless_conversion)]
        u32::from(old.bits())
    })
}

/// Fills `file` from standard input or the command's output; `Ok` once all of
/// it was read and no signal arrived. With `--no-empty`, empty input (a
/// command that succeeded without output) is [`Failure::Empty`].
fn fill(cli: &Cli, file: &mut AtomicFile, caught: &AtomicUsize) -> Result<(), Failure> {
    let from = input_name(cli);
    let n = if cli.command.is_empty() {
        // Read through the descriptor itself (std's `Stdin` buffers).
        copy(io::stdin().as_fd(), file, caught, from)?
    } else {
        let mut child = command::spawn(&cli.command).map_err(Failure::Spawn)?;
        let out = OwnedFd::from(child.stdout.take().expect("piped"));
        let copied = check_signals(caught).and_then(|()| copy(out.as_fd(), file, caught, from));
        // Our end of the pipe closed first: a command that goes on writing
        // after a signal gets EPIPE instead of blocking on a full pipe.
        drop(out);
        let n = command::after_read(&mut child, copied, caught)?;
        let status = command::wait(&mut child, caught)?;
        if !status.success() {
            return Err(Failure::Command(status));
        }
        n
    };
    check_signals(caught)?;
    no_empty(cli, n)
}
