//! The everyday options, in the library and the CLI: durable parent
//! directories (`create_parents` / `-p`), crash-safe backups (`backup` /
//! `--backup`) and writes that leave an unchanged target alone
//! (`commit_if_changed` / `--if-changed`). Their behaviour under crashes and
//! power loss is in tests/crash_kill.rs and tests/power_fuse.rs.

mod common;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use atomic_write::Options;
use common::*;

/// `(dev, ino, mtime)`: a file untouched keeps all three.
fn identity(p: &Path) -> (u64, u64, i64, i64) {
    let m = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()));
    (m.dev(), m.ino(), m.mtime(), m.mtime_nsec())
}

/// Sets a file's mtime an hour back, so that a rewrite cannot keep it by chance.
fn age(p: &Path) {
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

/// Streams `data` into a new `AtomicFile` and commits it if changed.
fn write_if_changed(opts: &Options, p: &Path, data: &[u8]) -> io::Result<bool> {
    let mut f = opts.create(p)?;
    f.write_all(data)?;
    f.commit_if_changed()
}

// ------------------------------------------------------------- if changed

both_paths! {
    /// Identical content: `Ok(false)`, the target keeps its inode and mtime,
    /// no temp is left. Different content of the same size, or another size:
    /// `Ok(true)` and a new file.
    fn if_changed_leaves_identical_content_alone(named: bool) {
        let d = scratch();
        let p = d.path().join("gen.rs");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&p, &data).unwrap();
        chmod(&p, 0o640);
        age(&p);
        let before = identity(&p);
        assert!(!write_if_changed(&opts(named), &p, &data).unwrap());
        assert_eq!(identity(&p), before, "an unchanged target was rewritten");
        assert_only(d.path(), &["gen.rs"]);

        // One byte differs, near the end (past the first compared blocks).
        let mut other = data.clone();
        other[299_000] ^= 1;
        assert!(write_if_changed(&opts(named), &p, &other).unwrap());
        assert_ne!(identity(&p).1, before.1);
        assert_eq!(read(&p), other);
        assert_eq!(mode(&p), 0o640, "the mode is kept as by commit()");
        // Shorter, then empty, then empty again.
        assert!(write_if_changed(&opts(named), &p, &other[..10]).unwrap());
        assert!(write_if_changed(&opts(named), &p, b"").unwrap());
        let before = identity(&p);
        assert!(!write_if_changed(&opts(named), &p, b"").unwrap());
        assert_eq!(identity(&p), before);
        assert_only(d.path(), &["gen.rs"]);
    }

    /// A missing target is created (`Ok(true)`); an explicit mode other than
    /// the target's is a change, the same mode is not.
    fn if_changed_new_target_and_mode(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        assert!(write_if_changed(&opts(named), &p, b"x").unwrap());
        assert_eq!(read(&p), b"x");
        chmod(&p, 0o600);
        let before = identity(&p);
        assert!(!write_if_changed(opts(named).mode(0o600), &p, b"x").unwrap());
        assert_eq!(identity(&p), before);
        assert!(write_if_changed(opts(named).mode(0o644), &p, b"x").unwrap());
        assert_eq!(mode(&p), 0o644);
        assert_ne!(identity(&p).1, before.1);
        assert_only(d.path(), &["f"]);
    }

    /// Through a symlink the file it names is compared (and left alone); with
    /// `follow_symlinks(false)` the link itself is the target, and a link is
    /// never "the same" as a file: it is replaced.
    fn if_changed_symlinks(named: bool) {
        let d = scratch();
        let (real, link) = (d.path().join("real"), d.path().join("link"));
        fs::write(&real, b"same").unwrap();
        symlink("real", &link).unwrap();
        let before = identity(&real);
        assert!(!write_if_changed(&opts(named), &link, b"same").unwrap());
        assert_eq!(identity(&real), before);
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(write_if_changed(opts(named).follow_symlinks(false), &link, b"same").unwrap());
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_file());
        assert_eq!(identity(&real), before);
    }

    /// With `no_clobber` it is `commit`: an existing target is an error even
    /// with the same content, a new one is created.
    fn if_changed_with_no_clobber(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        assert!(write_if_changed(opts(named).no_clobber(true), &p, b"a").unwrap());
        let err = write_if_changed(opts(named).no_clobber(true), &p, b"a").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert_only(d.path(), &["f"]);
    }

    /// With a backup: unchanged content makes no backup (target and old backup
    /// untouched); changed content does.
    fn if_changed_with_backup(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"v1").unwrap();
        fs::write(d.path().join("f~"), b"v0").unwrap();
        assert!(!write_if_changed(opts(named).backup("~"), &p, b"v1").unwrap());
        assert_eq!(read(&d.path().join("f~")), b"v0");
        assert!(write_if_changed(opts(named).backup("~"), &p, b"v2").unwrap());
        assert_eq!(read(&d.path().join("f~")), b"v1");
        assert_eq!(read(&p), b"v2");
        assert_only(d.path(), &["f", "f~"]);
    }
}

/// The compare is streamed: different sizes are told by `fstat` alone (no
/// read at all); equal sizes are read in positioned blocks of at most 64 KiB,
/// stopping at the first difference; an unchanged target costs no sync.
#[test]
fn if_changed_compare_is_streamed_and_syncs_nothing() {
    if !require("strace") {
        return;
    }
    let d = scratch();
    let p = d.path().join("big");
    let data: Vec<u8> = (0..(4 << 20) as u32).map(|i| (i % 253) as u8).collect();
    fs::write(&p, &data).unwrap();
    let input = d.path().join("input");
    let trace = |content: &[u8]| -> String {
        fs::write(&input, content).unwrap();
        let log = d.path().join("trace");
        let out = run(Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=pread64,read,fcntl,fsync,fdatasync,rename,renameat,renameat2,linkat",
                "-o",
            ])
            .arg(&log)
            .arg(bin())
            .args(["--if-changed", "--print-changed"])
            .arg(&p)
            .stdin(fs::File::open(&input).unwrap()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = fs::read_to_string(&log).unwrap();
        format!("{}\n{log}", String::from_utf8_lossy(&out.stdout))
    };
    // The compare's reads: after main started (its `fcntl(0, F_GETFL)`
    // checking standard input), not the dynamic loader's.
    let preads = |log: &str| -> Vec<u64> {
        log.lines()
            .skip_while(|l| !l.contains("fcntl(0, F_GETFL"))
            .filter(|l| l.contains("pread64("))
            .filter_map(|l| l.rsplit("= ").next()?.trim().parse().ok())
            .collect()
    };
    // Same content: read in blocks, both files whole, nothing synced or renamed.
    let log = trace(&data);
    assert!(log.starts_with("unchanged\n"), "{log}");
    let reads = preads(&log);
    assert!(
        reads.iter().all(|&n| n <= 64 << 10),
        "a read over 64 KiB:\n{log}"
    );
    assert_eq!(reads.iter().sum::<u64>(), 2 * data.len() as u64, "{log}");
    for call in ["fsync(", "fdatasync(", "rename", "linkat("] {
        assert!(
            !log.contains(call),
            "an unchanged target cost a {call}:\n{log}"
        );
    }
    // A difference in the first block: the compare stops there.
    let mut early = data.clone();
    early[10] ^= 1;
    let log = trace(&early);
    assert!(log.starts_with("changed\n"), "{log}");
    assert!(preads(&log).iter().sum::<u64>() <= 2 * (64 << 10), "{log}");
    assert!(log.contains("fsync("), "{log}");
    // Another size: no read of either file.
    let log = trace(&data[..1000]);
    assert!(log.starts_with("changed\n"), "{log}");
    assert!(
        preads(&log).is_empty(),
        "sizes differ, yet the files were read:\n{log}"
    );
}

both_paths! {
    /// `--if-changed` alone is quiet and exits 0 either way; with
    /// `--print-changed` it says `changed` or `unchanged` on stdout.
    fn cli_if_changed(named: bool) {
        let d = scratch();
        let p = d.path().join("conf");
        let out = cli_input(cli(named).args(["--if-changed", "--print-changed"]).arg(&p), b"a=1\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"changed\n");
        age(&p);
        let before = identity(&p);
        let out = cli_input(cli(named).args(["--if-changed", "--print-changed"]).arg(&p), b"a=1\n");
        assert!(out.status.success());
        assert_eq!(out.stdout, b"unchanged\n");
        assert_eq!(identity(&p), before);
        let out = cli_input(cli(named).arg("--if-changed").arg(&p), b"a=1\n");
        assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
        assert_eq!(identity(&p), before);
        let out = cli_input(cli(named).arg("--if-changed").arg(&p), b"a=2\n");
        assert!(out.status.success() && out.stdout.is_empty());
        assert_eq!(read(&p), b"a=2\n");
        // With a command: its output is compared.
        let before = identity(&p);
        let out = run(cli(named)
            .args(["--if-changed", "--print-changed"])
            .arg(&p)
            .args(["--", "printf", "a=2\\n"]));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"unchanged\n");
        assert_eq!(identity(&p), before);
        // --print-changed needs --if-changed: a usage error.
        let out = cli_input(cli(named).arg("--print-changed").arg(&p), b"x");
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(read(&p), b"a=2\n");
        assert_only(d.path(), &["conf"]);
    }
}

/// A target the writer may replace but not read (mode 0200 in a directory it
/// may write) cannot be shown unchanged: it is replaced, not an error.
#[test]
fn if_changed_unreadable_target_counts_as_changed() {
    if !require_root() || !require("setpriv") {
        return;
    }
    let (_t, d) = scratch_for_nobody(0o777);
    let p = d.join("f");
    fs::write(&p, b"same").unwrap();
    chown(&p, 65534, 65534);
    chmod(&p, 0o200);
    let out = cli_input(
        as_nobody(bin())
            .args(["--if-changed", "--print-changed"])
            .arg(&p),
        b"same",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"changed\n");
    assert_eq!(read(&p), b"same");
    assert_eq!(mode(&p), 0o200);
    assert_only(&d, &["f"]);
}

// ------------------------------------------------------------- backups

both_paths! {
    /// The backup is the old file itself (same inode: content, mode, owner and
    /// mtime for free); the next write replaces it; no temp is left.
    fn backup_is_the_old_file(named: bool) {
        let d = scratch();
        let p = d.path().join("app.conf");
        let b = d.path().join("app.conf~");
        fs::write(&p, b"v1").unwrap();
        chmod(&p, 0o640);
        age(&p);
        let old = identity(&p);
        opts(named).backup("~").write_bytes(&p, b"v2").unwrap();
        assert_eq!(read(&p), b"v2");
        assert_eq!(read(&b), b"v1");
        assert_eq!(identity(&b), old, "the backup is not the old file");
        assert_eq!(mode(&b), 0o640);
        assert_eq!(fs::metadata(&b).unwrap().nlink(), 1);
        let v2 = identity(&p);
        opts(named).backup("~").write_bytes(&p, b"v3").unwrap();
        assert_eq!(read(&b), b"v2");
        assert_eq!(identity(&b), v2);
        opts(named).backup(".bak").write_bytes(&p, b"v4").unwrap();
        assert_eq!(read(&d.path().join("app.conf.bak")), b"v3");
        assert_only(d.path(), &["app.conf", "app.conf.bak", "app.conf~"]);
    }

    /// No target, no backup; `no_clobber` never replaces, so never backs up;
    /// `append` backs up the content it started from.
    fn backup_only_of_a_replaced_file(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        opts(named).backup("~").write_bytes(&p, b"first").unwrap();
        assert_only(d.path(), &["f"]);
        let err = opts(named).backup("~").no_clobber(true).write_bytes(&p, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        opts(named).backup("~").no_clobber(true).write_bytes(d.path().join("g"), b"g").unwrap();
        assert_only(d.path(), &["f", "g"]);
        opts(named).backup("~").append(true).write_bytes(&p, b"+more").unwrap();
        assert_eq!(read(&p), b"first+more");
        assert_eq!(read(&d.path().join("f~")), b"first");
    }

    /// An owner kept with the old file (root only: the file belongs to someone else).
    fn backup_keeps_a_foreign_owner(named: bool) {
        if !require_root() {
            return;
        }
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"old").unwrap();
        chown(&p, 1234, 5678);
        chmod(&p, 0o2750);
        opts(named).backup("~").write_bytes(&p, b"new").unwrap();
        let b = d.path().join("f~");
        assert_eq!((owner(&b), mode(&b)), ((1234, 5678), 0o2750));
        assert_eq!((owner(&p), mode(&p)), ((1234, 5678), 0o2750));
    }

    /// A backup that cannot be made fails the commit before the rename: the
    /// target untouched, no temp left.
    fn backup_failure_keeps_the_target(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"old").unwrap();
        fs::create_dir(d.path().join("f~")).unwrap();
        fs::write(d.path().join("f~/x"), b"").unwrap();
        let before = identity(&p);
        let err = opts(named).backup("~").write_bytes(&p, b"new").unwrap_err();
        assert!(err.to_string().contains("failed to back up"), "{err}");
        assert_eq!(identity(&p), before);
        assert_eq!(read(&p), b"old");
        assert_only(d.path(), &["f", "f~"]);
    }

    /// `commit_all` backs up each file before its own rename.
    fn backup_with_commit_all(named: bool) {
        let d = scratch();
        let mut files = Vec::new();
        for name in ["a", "b", "c"] {
            let p = d.path().join(name);
            if name != "c" {
                fs::write(&p, format!("old {name}")).unwrap();
            }
            let mut f = opts(named).backup(".orig").create(&p).unwrap();
            write!(f, "new {name}").unwrap();
            files.push(f);
        }
        atomic_write::commit_all(files).unwrap();
        assert_eq!(read(&d.path().join("a.orig")), b"old a");
        assert_eq!(read(&d.path().join("b.orig")), b"old b");
        assert_eq!(read(&d.path().join("c")), b"new c");
        assert_only(d.path(), &["a", "a.orig", "b", "b.orig", "c"]);
    }
}

/// The copy fallback on a real filesystem: with `fs.protected_hardlinks`, an
/// unprivileged writer may not hard-link a file it may read but not write
/// (`EPERM`), so its backup is a synced copy: the old content, mode and
/// `user.*` attributes; the owner it may not give, and then no setuid bit.
#[test]
fn backup_copy_where_hard_links_are_refused() {
    if !require_root() || !require("setpriv") || !require("setfattr") || !require("getfattr") {
        return;
    }
    let protected = fs::read_to_string("/proc/sys/fs/protected_hardlinks").unwrap_or_default();
    if protected.trim() != "1" {
        assert!(
            !in_ci(),
            "needs fs.protected_hardlinks=1 (CI=true: failing)"
        );
        eprintln!("SKIPPED: needs fs.protected_hardlinks=1");
        return;
    }
    let (_t, d) = scratch_for_nobody(0o777);
    for (name, old_mode, backup_mode) in [("f", 0o644, 0o644), ("s", 0o4755, 0o755)] {
        let p = d.join(name);
        fs::write(&p, b"v1").unwrap();
        chmod(&p, old_mode);
        sh(&format!(
            "setfattr -n user.note -v 0x0102 {}",
            shell_quote(&p)
        ));
        let old_ino = identity(&p).1;
        let out = cli_input(as_nobody(bin()).arg("--backup").arg(&p), b"v2");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let b = d.join(format!("{name}~"));
        assert_eq!(read(&p), b"v2");
        assert_eq!(read(&b), b"v1");
        assert_ne!(
            identity(&b).1,
            old_ino,
            "a hard link, not the copy fallback"
        );
        assert_eq!(mode(&b), backup_mode, "{name}");
        assert_eq!(owner(&b), (65534, 65534));
        let attrs = sh(&format!("getfattr -n user.note -e hex {}", shell_quote(&b)));
        assert!(
            String::from_utf8_lossy(&attrs.stdout).contains("user.note=0x0102"),
            "{}",
            String::from_utf8_lossy(&attrs.stdout)
        );
    }
    assert_only(&d, &["f", "f~", "s", "s~"]);
}

/// An empty suffix or one with `/` is refused at `create()`, before anything
/// is written.
#[test]
fn backup_suffix_must_name_a_sibling() {
    let d = scratch();
    let p = d.path().join("f");
    fs::write(&p, b"old").unwrap();
    for bad in ["", "/x", "a/b"] {
        let err = Options::new().backup(bad).create(&p).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}: {err}");
    }
    assert_only(d.path(), &["f"]);
}

both_paths! {
    /// `--backup` means `~`; `--backup=SUFFIX` another suffix; the suffix is
    /// only ever taken with `=`, so `--backup PATH` writes PATH.
    fn cli_backup(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"v1").unwrap();
        let out = cli_input(cli(named).arg("--backup").arg(&p), b"v2");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&d.path().join("f~")), b"v1");
        let out = cli_input(cli(named).arg("--backup=.bak").arg(&p), b"v3");
        assert!(out.status.success());
        assert_eq!(read(&d.path().join("f.bak")), b"v2");
        assert_eq!(read(&p), b"v3");
        let out = cli_input(cli(named).arg("--backup=").arg(&p), b"v4");
        let line = assert_io_failure(&out, &p);
        assert!(line.contains("invalid backup suffix"), "{line}");
        assert_eq!(read(&p), b"v3");
        assert_only(d.path(), &["f", "f.bak", "f~"]);
    }
}

// ------------------------------------------------------------- parents

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
fn parents_are_synced_top_down() {
    if !require("strace") {
        return;
    }
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
fn parents_under_a_write_only_directory() {
    if !require_root() || !require("setpriv") {
        return;
    }
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
fn parents_under_a_tight_umask() {
    if !require_root() || !require("setpriv") {
        return;
    }
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
