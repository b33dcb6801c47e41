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
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitStatus;
#[cfg(unix)]
use std::sync::atomic::AtomicUsize;
#[cfg(unix)]
use std::sync::Arc;
use std::time::Duration;

use crate::error::{context, note};
use crate::AtomicFile;
use args::mode::Mode;
use args::Cli;
use clap::{CommandFactory, FromArgMatches};

mod args;
mod backup;
#[cfg(unix)]
mod command;
mod generate;
mod hint;
#[cfg(unix)]
mod input;
mod man;
#[cfg(unix)]
mod signals;
#[cfg(unix)]
mod validate;
#[cfg(windows)]
mod windows;
#[cfg(unix)]
mod write;

#[cfg(unix)]
use signals::{die_of, guard_signals};
#[cfg(unix)]
use write::{umask, write};

/// How long `-a` waits for another appender by default (`--wait`).
const DEFAULT_WAIT: Duration = crate::append::DEFAULT_LOCK_TIMEOUT;

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
    /// `--no-empty`, and the input (named) was empty: exit 1.
    Empty(&'static str),
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
    let args: Vec<OsString> = args.into_iter().collect();
    let matches = match generate::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(mut e) => {
            hint::dash_path(&args, &mut e);
            let status = usage(&e);
            if let Some(tip) = backup::hint(&args, &e) {
                eprintln!("{tip}");
            }
            return status;
        }
    };
    if let Some(kind) = generate::requested(&matches) {
        return generate::print(kind);
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage(&e.format(&mut Cli::command())),
    };
    // Before any I/O: an invalid $VERSION_CONTROL is a usage error.
    if let Err(msg) = backup::kind_of(&cli) {
        eprintln!("atomic-write: {msg}");
        return 2;
    }
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
        Err(Failure::Empty(from)) => {
            report(
                &cli.path,
                format_args!("not written: {from} was empty (--no-empty)"),
            );
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

/// A symbolic `-m`, if given (an octal one is the options' mode).
fn symbolic(cli: &Cli) -> Option<&Mode> {
    cli.mode.as_ref().filter(|m| matches!(m, Mode::Symbolic(_)))
}

/// `file`, with a symbolic `-m` applied to the mode it would get otherwise
/// (the existing target's, or a new file's: see [`AtomicFile::mode`]).
fn with_mode(cli: &Cli, mut file: AtomicFile) -> Result<AtomicFile, Failure> {
    if let Some(m) = symbolic(cli) {
        let old = file.mode()?;
        file.set_mode(resolve(m, old))?;
    }
    Ok(file)
}

/// The bits `m` gives a file whose mode would otherwise be `old` (the umask
/// read only for a clause that names no class; Windows has none).
fn resolve(m: &Mode, old: u32) -> u32 {
    let umask = if m.uses_umask() { umask() } else { 0 };
    m.apply(old, umask)
}

/// Windows has no umask.
#[cfg(windows)]
fn umask() -> u32 {
    0
}

/// What the input is, as messages name it.
fn input_name(cli: &Cli) -> &'static str {
    if cli.command.is_empty() {
        "standard input"
    } else {
        "the command's output"
    }
}

/// With `--no-empty`, `n` bytes of input (0: refused).
fn no_empty(cli: &Cli, n: u64) -> Result<(), Failure> {
    if cli.no_empty && n == 0 {
        return Err(Failure::Empty(input_name(cli)));
    }
    Ok(())
}

/// The commit: with `--if-changed`, only if the content differs (and
/// `--print-changed` says which).
fn commit(cli: &Cli, file: AtomicFile) -> io::Result<()> {
    if cli.if_changed {
        let changed = file.commit_if_changed()?;
        print_changed(cli, changed);
        Ok(())
    } else {
        file.commit()
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

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use nix::sys::signal::{SigSet, Signal};
    #[cfg(unix)]
    use std::fs::File;

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
