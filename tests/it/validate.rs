//! `--validate CMD` and `AtomicFile::validate_with` (issue 19, item 1): the
//! new content is checked at a path before it replaces the target; only what
//! the checker accepted is committed, and what it read is what is committed.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

both_paths! {
    /// The library: the path is the temp's, in the target's real directory
    /// (a symlinked directory resolved), owner-only while checked and with
    /// what was written; the inode checked is the one committed, with the
    /// target's mode back; a "no" leaves the target and no temp behind.
    fn library_path_and_verdict(named: bool) {
        let d = scratch();
        let real = d.path().join("real dir");
        fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink("real dir", d.path().join("link")).unwrap();
        let p = d.path().join("link/app.conf");
        fs::write(&p, b"old").unwrap();
        chmod(&p, 0o664);

        let mut f = opts(named).create(&p).unwrap();
        f.write_all(b"new").unwrap();
        let mut seen = None;
        let ok = f
            .validate_with(|path| {
                let m = fs::metadata(path)?;
                seen = Some((path.to_path_buf(), m.mode() & 0o7777, m.ino(), fs::read(path)?));
                Ok(true)
            })
            .unwrap();
        assert!(ok);
        let (path, mode_seen, ino, content) = seen.unwrap();
        assert_eq!(path.parent().unwrap(), fs::canonicalize(&real).unwrap());
        assert!(is_temp_name(path.file_name().unwrap().as_encoded_bytes()), "{path:?}");
        assert_eq!(mode_seen, 0o600, "the temp must be owner-only while checked");
        assert_eq!(content, b"new");
        f.commit().unwrap();
        assert_eq!(read(&p), b"new");
        assert_eq!(fs::metadata(&p).unwrap().ino(), ino, "not the inode checked");
        assert_eq!(mode(&p), 0o664);
        assert!(!path.exists());
        assert_only(&real, &["app.conf"]);

        let mut f = opts(named).create(&p).unwrap();
        f.write_all(b"bad").unwrap();
        assert!(!f.validate_with(|_| Ok(false)).unwrap());
        drop(f);
        assert_eq!(read(&p), b"new");
        assert_only(&real, &["app.conf"]);
        // An error from the checker is the caller's; the temp goes on drop.
        let mut f = opts(named).create(&p).unwrap();
        let err = f
            .validate_with(|_| Err(std::io::Error::other("checker broke")))
            .unwrap_err();
        assert_eq!(err.to_string(), "checker broke");
        f.discard().unwrap();
        assert_only(&real, &["app.conf"]);
    }

    /// A new file gets the mode `>` gives it (not the 0600 of the check).
    fn library_new_file_mode(named: bool) {
        let d = scratch();
        let p = d.path().join("new");
        let mut f = opts(named).create(&p).unwrap();
        f.write_all(b"x").unwrap();
        assert!(f.validate_with(|path| Ok(fs::read(path)? == b"x")).unwrap());
        f.commit().unwrap();
        assert_eq!(mode(&p), 0o666 & !current_umask());
        assert_only(d.path(), &["new"]);
    }
}

/// A directory with a name a shell would split or unquote.
fn awkward_dir() -> (tempfile::TempDir, PathBuf) {
    let t = scratch();
    let d = t.path().join("it's a \"dir\" $HOME `x` %s");
    fs::create_dir(&d).unwrap();
    (t, d)
}

fn aw(named: bool, args: &[&str], p: &Path, input: &[u8]) -> Output {
    cli_input(cli(named).args(args).arg(p), input)
}

/// Exit 1, the validator's verdict on stderr, the target and its directory
/// as they were.
#[track_caller]
fn assert_rejected(out: &Output, p: &Path, old: &[u8], names: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "atomic-write: {p:?}: not written: the validator rejected it"
        )),
        "{stderr}"
    );
    assert_eq!(read(p), old);
    assert_only(p.parent().unwrap(), names);
    stderr
}

both_paths! {
    /// Accepted: committed. Rejected (a check that fails, `exit 3`, killed):
    /// exit 1, the status in the message, target untouched, no temp. `%s` is
    /// the temp's path, quoted for the shell (the directory has spaces,
    /// quotes, `$`, backquotes and `%s` in its name); `%%` is a `%`.
    fn cli_accepts_and_rejects(named: bool) {
        let (_t, d) = awkward_dir();
        let p = d.join("app.conf");
        fs::write(&p, b"old\n").unwrap();
        let out = aw(named, &["--validate", "grep -q '^new' %s"], &p, b"new\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&p), b"new\n");
        assert_only(&d, &["app.conf"]);

        let out = aw(named, &["--validate", "grep -q '^new' %s"], &p, b"bad\n");
        let err = assert_rejected(&out, &p, b"new\n", &["app.conf"]);
        assert!(err.contains("exit status: 1"), "{err}");
        let out = aw(named, &["--validate", "test -s %s && exit 3"], &p, b"bad\n");
        let err = assert_rejected(&out, &p, b"new\n", &["app.conf"]);
        assert!(err.contains("exit status: 3"), "{err}");
        let out = aw(named, &["--validate", "kill -9 $$ ; : %s"], &p, b"bad\n");
        let err = assert_rejected(&out, &p, b"new\n", &["app.conf"]);
        assert!(err.contains("signal: 9"), "{err}");

        // What the validator was given: `printf '%s\n' PATH`, and where that
        // was (a `%` of ours in the command is written `%%`).
        let seen = d.join("seen");
        let cmd = format!("printf '%%s\\n' %s > {}", shell_quote(&seen).replace('%', "%%"));
        let out = aw(named, &["--validate", &cmd], &p, b"newer\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let path = PathBuf::from(String::from_utf8(read(&seen)).unwrap().trim_end());
        assert_eq!(path.parent().unwrap(), d);
        assert!(is_temp_name(path.file_name().unwrap().as_encoded_bytes()), "{path:?}");
        assert_eq!(read(&p), b"newer\n");
        fs::remove_file(&seen).unwrap();
        assert_only(&d, &["app.conf"]);
    }

    /// The validator's output, standard output and error, goes to our
    /// standard error (our standard output stays for `--print-changed`), in
    /// full, before the verdict.
    fn cli_validator_output_passed_through(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"old").unwrap();
        let cmd = "echo 'line 3: syntax error' >&2; echo 'checked' ; grep -q ok %s";
        let out = aw(named, &["--validate", cmd, "--if-changed", "--print-changed"], &p, b"bad");
        let err = assert_rejected(&out, &p, b"old", &["f"]);
        assert!(err.starts_with("line 3: syntax error\nchecked\n"), "{err}");
        let out = aw(named, &["--validate", cmd, "--if-changed", "--print-changed"], &p, b"ok");
        assert!(out.status.success());
        assert_eq!(out.stdout, b"changed\n");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "line 3: syntax error\nchecked\n");
    }

    /// With `-- COMMAND`, `-a`, `--backup` (no backup when rejected) and
    /// `--if-changed` (content identical to the target is not checked:
    /// nothing is written, as Ansible's `validate` does).
    fn cli_with_other_options(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"old\n").unwrap();
        let check = ["--validate", "grep -qx good %s"];
        // -- COMMAND: its output is what is checked.
        let run_cmd = |out: &str| {
            run(cli(named).args(check).arg(&p).args(["--", "printf", out]))
        };
        let out = run_cmd("bad\n");
        assert_rejected(&out, &p, b"old\n", &["f"]);
        let out = run_cmd("good\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&p), b"good\n");
        // A failing command is not validated: its own status, as ever.
        let out = run(cli(named).args(["--validate", "echo ran >&2; : %s"]).arg(&p).args(["--", "false"]));
        assert_eq!(out.status.code(), Some(1));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("ran"));

        // -a: the validator sees the whole new content.
        let out = aw(named, &["-a", "--validate", "grep -qx good %s && grep -qx more %s"], &p, b"more\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&p), b"good\nmore\n");
        let out = aw(named, &["-a", "--validate", "! grep -q bad %s"], &p, b"bad\n");
        assert_rejected(&out, &p, b"good\nmore\n", &["f"]);

        // --backup: none made when rejected; made when accepted.
        fs::write(&p, b"good\n").unwrap();
        let out = aw(named, &["--backup", check[0], check[1]], &p, b"bad\n");
        assert_rejected(&out, &p, b"good\n", &["f"]);
        let out = aw(named, &["--backup", check[0], check[1]], &p, b"good\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&d.path().join("f~")), b"good\n");
        fs::remove_file(d.path().join("f~")).unwrap();

        // --if-changed: identical content needs no check (the validator
        // would reject it here); a change is checked.
        let reject = ["--validate", "exit 1; %s", "--if-changed", "--print-changed"];
        let out = aw(named, &reject, &p, b"good\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"unchanged\n");
        let out = aw(named, &reject, &p, b"other\n");
        assert_rejected(&out, &p, b"good\n", &["f"]);
        assert!(out.stdout.is_empty());
    }

    /// `jq empty %s`, the JSON check users reach for.
    #[ignore = "needs jq"]
    fn cli_jq(named: bool) {
        require("jq");
        let d = scratch();
        let p = d.path().join("cfg.json");
        fs::write(&p, b"{\"a\": 1}\n").unwrap();
        let out = aw(named, &["--validate", "jq empty %s"], &p, b"{\"a\": 2}\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = aw(named, &["--validate", "jq empty %s"], &p, b"{\"a\": ");
        let err = assert_rejected(&out, &p, b"{\"a\": 2}\n", &["cfg.json"]);
        assert!(err.contains("parse error"), "{err}");
    }
}

both_paths! {
    /// `visudo -cf %s`, Ansible's example: the temp (`0600`, root's) is
    /// accepted as a sudoers file; a syntax error is rejected, with visudo's
    /// message, and the 0440 file stays as it was.
    #[ignore = "needs root, visudo (sudo)"]
    fn cli_visudo(named: bool) {
        require_root();
        require("visudo");
        let d = scratch();
        let p = d.path().join("deploy");
        fs::write(&p, b"root ALL=(ALL) ALL\n").unwrap();
        chmod(&p, 0o440);
        let good = b"deploy ALL=(ALL) NOPASSWD: /bin/true\n";
        let out = aw(named, &["--validate", "visudo -cf %s"], &p, good);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&p), good);
        assert_eq!(mode(&p), 0o440);
        let out = aw(named, &["--validate", "visudo -cf %s"], &p, b"deploy ALL=(ALL NOPASSWD: /bin/true\n");
        let err = assert_rejected(&out, &p, good, &["deploy"]);
        assert!(err.contains("syntax error"), "{err}");
    }
}

/// A command without `%s` would check nothing: a usage error, nothing read.
#[test]
fn cli_needs_percent_s() {
    let d = scratch();
    let p = d.path().join("f");
    for cmd in ["true", "echo 100%%s", ""] {
        let out = cli_input(Command::new(bin()).args(["--validate", cmd]).arg(&p), b"x");
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("%s"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!p.exists());
    }
}

/// SIGTERM while the validator runs: passed on to it, nothing committed, no
/// temp, and atomic-write dies of the signal, as with `-- COMMAND`.
#[test]
fn cli_signal_during_validation() {
    use std::os::unix::process::ExitStatusExt;
    let d = scratch();
    let p = d.path().join("f");
    fs::write(&p, b"old").unwrap();
    let started = d.path().join("started");
    let cmd = format!("touch {}; sleep 30 < %s", shell_quote(&started));
    let mut child = Command::new(bin())
        .args(["--validate", &cmd])
        .arg(&p)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let guard_start = std::time::Instant::now();
    while !started.exists() {
        assert!(
            guard_start.elapsed().as_secs() < 20,
            "the validator never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Ours, by its PID. Timed from the signal: the validator sleeps 30 s,
    // so dying well before that means it was stopped (the start may be
    // slow on a loaded machine).
    let killed = std::time::Instant::now();
    unsafe_kill(child.id(), libc::SIGTERM);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
    assert!(
        killed.elapsed().as_secs() < 20,
        "the validator was not stopped"
    );
    assert_eq!(read(&p), b"old");
    fs::remove_file(&started).unwrap();
    assert_only(d.path(), &["f"]);
}

fn unsafe_kill(pid: u32, sig: i32) {
    let out = run(Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string()));
    assert!(out.status.success());
}
