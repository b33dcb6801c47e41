//! The command line on Windows: standard input, or the output of a command
//! that exits 0, streamed into an [`AtomicFile`] and committed once all of it
//! was read. The options are the library's, as on Unix; the ones Windows does
//! not have are refused ([`unsupported`]).
//!
//! No signal handling: Ctrl+C or a kill ends the process at once, nothing is
//! committed, and the named temp it leaves (unlocked once the process is
//! gone) is for `--sweep`, as a killed writer's on Unix. The command is not
//! stopped with us: Windows passes Ctrl+C to the whole console group itself.

use std::io::{self, Read, Write};
use std::process::{Command, Stdio};

use super::args::mode::Mode;
use super::args::Cli;
use super::{discarded, failed, input_name, no_empty, with_mode, Failure, DEFAULT_WAIT};
use crate::{AtomicFile, Durability, Options};

/// Input is copied through a buffer this big.
const BUF: usize = 64 << 10;

/// The first option given that Windows does not have, as spelled in `--help`.
pub(super) fn unsupported(cli: &Cli) -> Option<&'static str> {
    // Windows has no extended attributes to leave out (nor keeps EAs).
    if cli.validate.is_some() {
        // The command is a `sh -c` line.
        return Some("--validate");
    }
    cli.no_xattrs.then_some("--no-xattrs")
}

/// Writes PATH from standard input or the command's output.
pub(super) fn write(cli: &Cli) -> Result<(), Failure> {
    let mut opts = Options::new();
    opts.no_clobber(cli.no_clobber)
        .force(cli.force)
        .append(cli.append)
        .follow_symlinks(!cli.no_follow)
        .create_parents(cli.parents)
        .durability(if cli.no_sync {
            Durability::None
        } else {
            Durability::Full
        });
    if let Some(Mode::Octal(m)) = cli.mode {
        opts.mode(m);
    }
    // Checked in `run`.
    opts.backup_kind(super::backup::kind_of(cli).ok().flatten());
    if cli.append {
        // No signal to let through meanwhile: the library's own wait.
        opts.lock_timeout(cli.wait.unwrap_or(DEFAULT_WAIT));
    }
    let mut file = with_mode(cli, opts.create(&cli.path)?)?;
    if let Err(f) = fill(cli, &mut file) {
        return Err(discarded(cli, file, f));
    }
    Ok(super::commit(cli, file)?)
}

/// Fills `file` from standard input, or from the command's output once it
/// exited 0.
fn fill(cli: &Cli, file: &mut AtomicFile) -> Result<(), Failure> {
    if cli.command.is_empty() {
        let n = copy(&mut io::stdin().lock(), file, input_name(cli))?;
        return no_empty(cli, n);
    }
    let mut child = Command::new(&cli.command[0])
        .args(&cli.command[1..])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(Failure::Spawn)?;
    let mut out = child.stdout.take().expect("piped");
    let copied = copy(&mut out, file, input_name(cli));
    // Our end of the pipe closed first: a command still writing fails
    // instead of blocking on a full pipe.
    drop(out);
    let n = match copied {
        Ok(n) => n,
        Err(e) => {
            // Ours to stop: we started it.
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    let status = child.wait()?;
    if !status.success() {
        return Err(Failure::Command(status));
    }
    no_empty(cli, n)
}

/// Streams `src` to the end into `file`; returns how many bytes it copied.
/// A failed read names `from`; a failed write, the temporary file.
fn copy(src: &mut impl Read, file: &mut AtomicFile, from: &str) -> Result<u64, Failure> {
    let target = file.target().to_path_buf();
    let mut buf = vec![0u8; BUF];
    let mut copied = 0;
    loop {
        let n = match src.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A closed standard input (no console, no pipe): nothing to read.
            Err(e) => return Err(failed(e, format!("failed to read {from}"))),
        };
        if n == 0 {
            return Ok(copied);
        }
        file.write_all(&buf[..n])
            .map_err(|e| failed(e, format!("failed to write temporary file for {target:?}")))?;
        copied += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::Path;

    use super::super::run;

    fn run_with(args: &[&OsString]) -> u8 {
        run(args.iter().map(|a| (*a).clone()))
    }

    fn os(s: impl AsRef<std::ffi::OsStr>) -> OsString {
        s.as_ref().to_owned()
    }

    /// No temp or other file left beside the target.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Standard input replaces PATH: in a child process (this test binary
    /// run again) whose standard input is a pipe we write.
    #[test]
    fn standard_input_replaces_the_target() {
        const CHILD: &str = "ATOMIC_WRITE_WINDOWS_STDIN_CHILD";
        if let Some(path) = std::env::var_os(CHILD) {
            std::process::exit(run_with(&[&os("atomic-write"), &path]).into());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cli::windows::tests::standard_input_replaces_the_target",
            ])
            .env(CHILD, &path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, &[b'x'; 200_000]).unwrap();
        drop(stdin);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0));
        assert_eq!(std::fs::read(&path).unwrap(), [b'x'; 200_000]);
        assert_eq!(names(dir.path()), ["f"]);
    }

    /// An option Windows does not have: exit 2, nothing created.
    #[test]
    fn unix_only_options_are_refused_with_status_2() {
        let dir = tempfile::tempdir().unwrap();
        let path = os(dir.path().join("f"));
        let (me, opt) = (os("atomic-write"), os("--no-xattrs"));
        assert_eq!(run_with(&[&me, &opt, &path]), 2);
        assert!(names(dir.path()).is_empty());
    }

    /// `-- COMMAND`: its output committed when it exits 0; on another status
    /// the target is untouched, no temp is left, and the status is ours.
    #[test]
    fn command_output_is_committed_only_on_success() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        let arg = |s: &str| os(s);
        let (me, p, dashes, cmd, c) = (
            arg("atomic-write"),
            os(&path),
            arg("--"),
            arg("cmd"),
            arg("/c"),
        );
        let (echo, fail) = (arg("echo new"), arg("echo partial& exit 3"));
        assert_eq!(run_with(&[&me, &p, &dashes, &cmd, &c, &fail]), 3);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["f"]);
        assert_eq!(run_with(&[&me, &p, &dashes, &cmd, &c, &echo]), 0);
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim_end(), "new");
        assert_eq!(names(dir.path()), ["f"]);
    }

    /// `--no-empty`: a command that succeeds without output is refused
    /// (exit 1), the target untouched, no temp left.
    #[test]
    fn no_empty_refuses_empty_command_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        let (me, flag, p, dashes, cmd, c, rem) = (
            os("atomic-write"),
            os("--no-empty"),
            os(&path),
            os("--"),
            os("cmd"),
            os("/c"),
            os("rem"),
        );
        assert_eq!(run_with(&[&me, &flag, &p, &dashes, &cmd, &c, &rem]), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["f"]);
    }

    /// A symbolic `-m` on Windows, from a writable file: `a-w` makes the
    /// result read-only, `go-w` leaves it writable (only the write bits
    /// count there, and the owner's are kept).
    #[test]
    fn symbolic_mode_sets_the_read_only_attribute() {
        let dir = tempfile::tempdir().unwrap();
        for (name, mode, read_only) in [("a", "a-w", true), ("b", "go-w", false)] {
            let path = dir.path().join(name);
            std::fs::write(&path, "old").unwrap();
            let (me, m, mode, p, dashes, cmd, c, echo) = (
                os("atomic-write"),
                os("-m"),
                os(mode),
                os(&path),
                os("--"),
                os("cmd"),
                os("/c"),
                os("echo new"),
            );
            assert_eq!(
                run_with(&[&me, &m, &mode, &p, &dashes, &cmd, &c, &echo]),
                0,
                "{mode:?}"
            );
            let perms = std::fs::metadata(&path).unwrap().permissions();
            assert_eq!(perms.readonly(), read_only, "{mode:?}");
            assert_eq!(std::fs::read_to_string(&path).unwrap().trim_end(), "new");
        }
        assert_eq!(names(dir.path()), ["a", "b"]);
    }

    /// A command that does not exist: 127, as shells say, nothing written.
    #[test]
    fn a_missing_command_is_127() {
        let dir = tempfile::tempdir().unwrap();
        let path = os(dir.path().join("f"));
        let (me, dashes, cmd) = (
            os("atomic-write"),
            os("--"),
            os("no-such-command-atomic-write"),
        );
        assert_eq!(run_with(&[&me, &path, &dashes, &cmd]), 127);
        assert!(names(dir.path()).is_empty());
    }
}
