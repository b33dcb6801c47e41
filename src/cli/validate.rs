//! `--validate CMD`: the new content checked by a shell command before the
//! commit ([`AtomicFile::validate_with`]); only what it accepts is committed.
//!
//! `%s` in CMD becomes the temp's path, single-quoted for the shell (the
//! directory may hold spaces, quotes, `$`); `%%` is a `%`; any other `%`
//! stays. CMD runs as `sh -c CMD` with no input (ours has been read), its
//! standard output and error on our standard error (our standard output is
//! for `--print-changed`), and is waited for as `-- COMMAND` is: a signal to
//! us is passed on to it, nothing is committed, and we die of it.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::AtomicUsize;

use super::args::Cli;
use super::{command, Failure};
use crate::AtomicFile;

/// With `--validate`: runs the check on what `file` holds; `Ok` if it
/// accepted, else why not (the caller discards the temp).
pub(super) fn check(cli: &Cli, file: &mut AtomicFile, caught: &AtomicUsize) -> Result<(), Failure> {
    let Some(template) = &cli.validate else {
        return Ok(());
    };
    let mut outcome: Option<Result<ExitStatus, Failure>> = None;
    file.validate_with(|path| {
        let line = command_line(template, path);
        let stderr = io::stderr().as_fd().try_clone_to_owned()?;
        let argv = [OsString::from("sh"), OsString::from("-c"), line];
        let run = command::spawn_with(&argv, Stdio::null(), Stdio::from(stderr))
            .map_err(|e| {
                Failure::Io(io::Error::new(
                    e.kind(),
                    format!("failed to run the validator: sh: {e}"),
                ))
            })
            .and_then(|mut child| command::wait(&mut child, caught));
        let accepted = matches!(&run, Ok(status) if status.success());
        outcome = Some(run);
        Ok(accepted)
    })?;
    match outcome.expect("the check ran") {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(Failure::Io(io::Error::other(format!(
            "not written: the validator rejected it ({status})"
        )))),
        Err(f) => Err(f),
    }
}

/// CMD with each `%s` replaced by `path`, single-quoted, and `%%` by `%`.
pub(super) fn command_line(template: &str, path: &Path) -> OsString {
    let quoted = quote(path.as_os_str());
    let mut out = Vec::with_capacity(template.len() + quoted.len());
    let mut bytes = template.as_bytes().iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match (b, bytes.peek()) {
            (b'%', Some(b's')) => {
                bytes.next();
                out.extend_from_slice(&quoted);
            }
            (b'%', Some(b'%')) => {
                bytes.next();
                out.push(b'%');
            }
            _ => out.push(b),
        }
    }
    OsString::from_vec(out)
}

/// `s` in single quotes for `sh`, each `'` in it as `'\''`.
fn quote(s: &OsStr) -> Vec<u8> {
    let mut out = vec![b'\''];
    for &b in s.as_bytes() {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_quotes() {
        let line = |t: &str, p: &str| command_line(t, Path::new(p)).into_string().unwrap();
        assert_eq!(line("visudo -cf %s", "/etc/x"), "visudo -cf '/etc/x'");
        assert_eq!(line("cmp %s %s", "a b"), "cmp 'a b' 'a b'");
        assert_eq!(line("printf '%%s' %s", "it's"), r"printf '%s' 'it'\''s'");
        assert_eq!(line("echo 100% %d %s", "$HOME"), "echo 100% %d '$HOME'");
        assert_eq!(line("x %%%s", "p"), "x %'p'");
    }
}
