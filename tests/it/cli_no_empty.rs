//! `--no-empty` (issue 19 item 2): empty input, from standard input or from
//! `-- COMMAND`, is refused: exit 1, the target untouched, no temp left, one
//! line saying the input was empty. Next to what a shell's `>` does (empties
//! the file) and what `ifne` does (leaves it alone).

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;

/// The one line `--no-empty` prints for `from` (the input's name).
fn refused(out: &Output, p: &Path, from: &str) {
    let line = assert_io_failure(out, p);
    assert_eq!(
        line,
        format!("atomic-write: {p:?}: not written: {from} was empty (--no-empty)")
    );
    assert!(out.stdout.is_empty());
}

both_paths! {
    /// Empty standard input: refused, with or without `-a`, `--if-changed`,
    /// `-m`, `-p`; non-empty input is written as ever.
    fn empty_stdin_is_refused(named: bool) {
        let d = scratch();
        let p = d.path().join("cfg.json");
        fs::write(&p, b"{\"old\": 1}\n").unwrap();
        chmod(&p, 0o640);
        let id = identity(&p);
        for extra in [
            &[][..],
            &["-a"],
            &["--if-changed", "--print-changed"],
            &["-m", "u+x"],
            &["-m", "600"],
            &["--no-sync"],
        ] {
            let out = cli_input(cli(named).arg("--no-empty").args(extra).arg(&p), b"");
            refused(&out, &p, "standard input");
            assert_eq!(read(&p), b"{\"old\": 1}\n", "{extra:?}");
            assert_eq!((identity(&p), mode(&p)), (id, 0o640), "{extra:?}");
            assert_only(d.path(), &["cfg.json"]);
        }
        // A missing target stays missing (-p's directories are made before
        // the input is read, as `mkdir -p` would: they stay, empty).
        let q = d.path().join("sub/new");
        let out = cli_input(cli(named).args(["--no-empty", "-p"]).arg(&q), b"");
        refused(&out, &q, "standard input");
        assert_only(&d.path().join("sub"), &[]);
        fs::remove_dir(d.path().join("sub")).unwrap();
        // Standard input that is an empty regular file, not a pipe.
        let empty = d.path().join("empty");
        fs::write(&empty, b"").unwrap();
        let out = run(cli(named)
            .arg("--no-empty")
            .arg(&p)
            .stdin(fs::File::open(&empty).unwrap()));
        refused(&out, &p, "standard input");
        assert_eq!(identity(&p), id);
        fs::remove_file(&empty).unwrap();
        // One byte is not empty.
        let out = cli_input(cli(named).arg("--no-empty").arg(&p), b"\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&p), b"\n");
        assert_eq!(mode(&p), 0o640);
        assert_only(d.path(), &["cfg.json"]);
    }

    /// `-- COMMAND` that succeeds with no output: refused; one that fails
    /// keeps its own status (the failure is the news, not the emptiness).
    fn empty_command_output_is_refused(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"old\n").unwrap();
        let id = identity(&p);
        for extra in [&[][..], &["--if-changed"], &["-a"]] {
            let out = run(cli(named).arg("--no-empty").args(extra).arg(&p).args(["--", "true"]));
            refused(&out, &p, "the command's output");
            let out = run(cli(named).arg("--no-empty").args(extra).arg(&p).args(["--", "sh", "-c", "exit 3"]));
            assert_eq!(out.status.code(), Some(3), "{extra:?}");
            assert_eq!(identity(&p), id);
            assert_eq!(read(&p), b"old\n");
            assert_only(d.path(), &["f"]);
        }
        let out = run(cli(named).arg("--no-empty").arg(&p).args(["--", "echo", "new"]));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&p), b"new\n");
    }
}

/// The README's case: a producer that fails in a pipe. The shell's `>` and a
/// plain `atomic-write` empty the file (the failure is invisible to them);
/// `ifne` and `--no-empty` leave it alone; `-- COMMAND` sees the failure.
#[test]
#[ignore = "needs ifne (moreutils)"]
fn failed_producer_next_to_redirect_and_ifne() {
    require("ifne");
    let d = scratch();
    let file = |name: &str| {
        let p = d.path().join(name);
        fs::write(&p, b"{\"version\": 1}\n").unwrap();
        p
    };
    let (redirect, plain, ifne, no_empty, command) = (
        file("redirect"),
        file("plain"),
        file("ifne"),
        file("no_empty"),
        file("command"),
    );
    let sh =
        |script: &str, p: &Path| run(Command::new("sh").arg("-c").arg(script).arg(bin()).arg(p));
    // The producer: fails, printing nothing (as `jq '.['` does).
    let producer = "sh -c 'echo \"jq: error\" >&2; exit 5'";
    // The shell reports the producer's failure, but `>` emptied the file first.
    let out = sh(&format!("{producer} > \"$1\""), &redirect);
    assert_eq!(out.status.code(), Some(5));
    assert!(sh(&format!("{producer} | \"$0\" \"$1\""), &plain)
        .status
        .success());
    assert!(sh(
        &format!("{producer} | ifne sh -c 'cat > \"$1\"' sh \"$1\""),
        &ifne
    )
    .status
    .success());
    let out = sh(&format!("{producer} | \"$0\" --no-empty \"$1\""), &no_empty);
    assert_eq!(out.status.code(), Some(1));
    let out = sh(&format!("\"$0\" \"$1\" -- {producer}"), &command);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(read(&redirect), b"");
    assert_eq!(read(&plain), b"");
    for kept in [&ifne, &no_empty, &command] {
        assert_eq!(read(kept), b"{\"version\": 1}\n", "{kept:?}");
    }
    assert_only(
        d.path(),
        &["command", "ifne", "no_empty", "plain", "redirect"],
    );
}
