//! Durable parent directories, in the library and the CLI (`create_parents`
//! / `-p`). Their behaviour under crashes and power loss is in
//! tests/crash_kill.rs and tests/power_fuse.rs.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use atomic_write::Options;

use crate::common::*;

both_paths! {
    /// Missing directories are created with `0o777 & !umask`, existing ones
    /// are fine, and `..` and a symlink in the middle are followed as the
    /// kernel follows them.
    fn parents_are_created(named: bool) {
        let d = scratch();
        let p = d.path().join("a/b/c/f");
        opts(named).create_parents(true).write_bytes(&p, b"x").unwrap();
        assert_eq!(read(&p), b"x");
        let want = 0o777 & !current_umask();
        for dir in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&d.path().join(dir)), want, "{dir}");
        }
        opts(named).create_parents(true).write_bytes(d.path().join("a/b/g"), b"g").unwrap();
        symlink("a/b", d.path().join("ln")).unwrap();
        opts(named)
            .create_parents(true)
            .write_bytes(d.path().join("ln/new/../new2/h"), b"h")
            .unwrap();
        assert_eq!(read(&d.path().join("a/b/new2/h")), b"h");
        assert!(d.path().join("a/b/new").is_dir());
        // Without the option, a missing directory is still NotFound.
        let err = opts(named).write_bytes(d.path().join("z/f"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_only(d.path(), &["a", "ln"]);
        assert_only(&d.path().join("a/b"), &["c", "g", "new", "new2"]);
    }

    /// A file in the way fails with `NotADirectory`, naming it; nothing is
    /// created.
    fn parents_refuse_a_file_in_the_way(named: bool) {
        let d = scratch();
        fs::create_dir(d.path().join("a")).unwrap();
        fs::write(d.path().join("a/file"), b"keep").unwrap();
        let err = opts(named)
            .create_parents(true)
            .write_bytes(d.path().join("a/file/b/c/f"), b"x")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotADirectory, "{err}");
        assert!(err.to_string().contains("a/file\""), "{err}");
        assert_only(&d.path().join("a"), &["file"]);
        assert_eq!(read(&d.path().join("a/file")), b"keep");
    }
}

/// Many writers creating the same new directories at once all succeed.
#[test]
fn parents_concurrent_creators() {
    let d = scratch();
    let base = d.path().to_path_buf();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || {
                for round in 0..20 {
                    let p = base.join(format!("r{round}/x/y/z/f{i}"));
                    Options::new()
                        .create_parents(true)
                        .write_bytes(&p, b"ok")
                        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for round in 0..20 {
        assert_eq!(names(&base.join(format!("r{round}/x/y/z"))).len(), 8);
    }
}

/// Each new directory is synced into its parent right after `mkdirat`, top
/// down, before the file is written; existing directories are not synced.
#[test]
#[ignore = "needs strace"]
fn parents_are_synced_top_down() {
    require("strace");
    let d = scratch();
    fs::create_dir(d.path().join("have")).unwrap();
    let log = d.path().join("trace");
    let out = run(Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=mkdirat,mkdir,fsync,openat,linkat,rename,renameat,renameat2",
            "-o",
        ])
        .arg(&log)
        .arg(bin())
        .arg("-p")
        .arg("have/n1/n2/f")
        .current_dir(d.path())
        .stdin(fs::File::open("/dev/null").unwrap()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = fs::read_to_string(&log).unwrap();
    // fd -> name, from the openat lines, to read the fsyncs.
    let mut fds = std::collections::HashMap::new();
    let mut events = Vec::new();
    for l in log.lines() {
        let l = l.split_once(' ').map_or(l, |(_, r)| r.trim_start());
        let ret = l.rsplit("= ").next().unwrap_or("").trim();
        if let Some(rest) = l.strip_prefix("openat(") {
            let name = rest.split('"').nth(1).unwrap_or("").to_string();
            if let Ok(fd) = ret.parse::<i64>() {
                fds.insert(fd, name);
            }
        } else if let Some(rest) = l.strip_prefix("mkdirat(") {
            events.push(format!("mkdir {}", rest.split('"').nth(1).unwrap_or("")));
        } else if let Some(rest) = l.strip_prefix("fsync(") {
            let fd: i64 = rest.split(')').next().unwrap().parse().unwrap();
            events.push(format!(
                "fsync {}",
                fds.get(&fd).cloned().unwrap_or_default()
            ));
        } else if l.starts_with("rename") {
            events.push("rename".into());
        }
    }
    let events: Vec<&str> = events.iter().map(String::as_str).collect();
    // The directory fds: "have" opened from ".", then "n1" from it, then the
    // target's directory by its path; the file's temp is the fsync of an fd
    // opened from ".", i.e. unnamed ("." with O_TMPFILE).
    assert_eq!(
        &events[..4],
        ["mkdir n1", "fsync have", "mkdir n2", "fsync n1"],
        "{log}"
    );
    let rename = events.iter().position(|e| *e == "rename").expect("renamed");
    assert!(
        events[rename + 1..].iter().any(|e| e.starts_with("fsync")),
        "{log}"
    );
    assert_eq!(read(&d.path().join("have/n1/n2/f")), b"");
}

/// A parent the writer may write and search but not read (`0300`), as the
/// crate's other writes allow: the new directory is created in it and made
/// durable by a sync of the filesystem (ext4 here), as a commit there is.
#[test]
#[ignore = "needs root, setpriv"]
fn parents_under_a_write_only_directory() {
    require_root();
    require("setpriv");
    let (_t, d) = scratch_for_nobody(0o777);
    let w = d.join("w");
    fs::create_dir(&w).unwrap();
    chown(&w, 65534, 65534);
    chmod(&w, 0o300);
    let p = w.join("new/deeper/f");
    let out = cli_input(as_nobody(bin()).arg("-p").arg(&p), b"x");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&p), b"x");
    assert_eq!(mode(&w), 0o300);
}

/// Under a tight umask (`0277`, an unprivileged user), `-p d1/d2/f` gives the
/// directories it creates `u+wx` as `mkdir -p` does, so `d2` and `f` can be
/// created in them: `d1` and `d2` are `0700` (the umask's `0500` plus
/// `u+wx`), the file `0400`. Also under `0777` (no `u+r` either: the new
/// directory is first opened `O_PATH`), where they are `0300` (`--no-sync`:
/// a directory that can't be read can't be synced, see the test above).
#[test]
#[ignore = "needs root, setpriv"]
fn parents_under_a_tight_umask() {
    require_root();
    require("setpriv");
    for (umask, dirs, sync) in [("0277", 0o700, ""), ("0777", 0o300, "--no-sync")] {
        let (_t, d) = scratch_for_nobody(0o777);
        let p = d.join("d1/d2/f");
        let script = format!("umask {umask}; exec \"$0\" -p {sync} \"$1\"");
        let mut c = as_nobody("sh");
        c.args(["-c", &script, bin()]).arg(&p);
        let out = cli_input(&mut c, b"x");
        assert!(
            out.status.success(),
            "umask {umask}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(mode(&d.join("d1")), dirs, "umask {umask}");
        assert_eq!(mode(&d.join("d1/d2")), dirs, "umask {umask}");
        assert_eq!(mode(&p), 0o666 & !u32::from_str_radix(umask, 8).unwrap());
        assert_eq!(read(&p), b"x");
    }
}

/// `-p` on the command line, with a relative path.
#[test]
fn cli_parents() {
    let d = scratch();
    let out = cli_input(
        Command::new(bin())
            .args(["-p", "x/y/out"])
            .current_dir(d.path()),
        b"data",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&d.path().join("x/y/out")), b"data");
    let out = cli_input(
        Command::new(bin()).args(["x/z/out"]).current_dir(d.path()),
        b"data",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_only(&d.path().join("x"), &["y"]);
    // A file in the way: one line, exit 1.
    let out = cli_input(
        Command::new(bin())
            .args(["--parents", "x/y/out/z/f"])
            .current_dir(d.path()),
        b"data",
    );
    let line = assert_io_failure(&out, Path::new("x/y/out/z/f"));
    assert!(line.contains("Not a directory"), "{line}");
    assert_only(&d.path().join("x/y"), &["out"]);
}
