//! The temp file itself, on both of Linux's paths.
//!
//! - `O_TMPFILE`: while writing there is no directory entry at all (the temp
//!   has no links); it gets a hidden random name with `linkat` only just
//!   before the rename.
//! - The named fallback (forced by `Options::unnamed_temp(false)`, or
//!   `ATOMIC_WRITE_NO_TMPFILE=1` for the CLI): a hidden, recognisable name within
//!   `NAME_MAX`, created `O_EXCL|O_NOFOLLOW`, removed on drop, `discard` and
//!   every error.
//! - `sweep` / `--sweep` remove only stale temps.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use crate::common::*;

/// While writing on the `O_TMPFILE` path the temp has no name: zero links and
/// nothing in the directory besides the target.
#[test]
fn tmpfile_is_unnamed_while_writing() {
    let d = scratch();
    let p = d.path().join("t");
    fs::write(&p, b"old").unwrap();
    let mut f = opts(false).create(&p).unwrap();
    f.write_all(&vec![1u8; 1 << 20]).unwrap();
    assert_eq!(
        f.as_file().metadata().unwrap().nlink(),
        0,
        "temp has a name"
    );
    assert_only(d.path(), &["t"]);
    f.commit().unwrap();
    assert_only(d.path(), &["t"]);
    assert_eq!(read(&p).len(), 1 << 20);
}

/// The named temp: one link, hidden, recognisable, ours, beside the target,
/// gone after commit (renamed) — and with the target's content only at commit.
#[test]
fn named_temp_shape() {
    let d = scratch();
    let p = d.path().join("config.json");
    let mut f = opts(true).create(&p).unwrap();
    f.write_all(b"{}").unwrap();
    assert_eq!(f.as_file().metadata().unwrap().nlink(), 1);
    let t = assert_mid_write(d.path(), &[], b"config.json", true).unwrap();
    let t = String::from_utf8(t).unwrap();
    assert!(
        t.starts_with(".config.json.atomic-write-") && t.ends_with(".tmp"),
        "{t}"
    );
    assert_eq!(read(&d.path().join(&t)), b"{}");
    // Debug names the temp while there is one.
    assert!(format!("{f:?}").contains(&t));
    let ino = f.as_file().metadata().unwrap().ino();
    f.commit().unwrap();
    // The temp was renamed, not copied.
    assert_eq!(fs::metadata(&p).unwrap().ino(), ino);
    assert_only(d.path(), &["config.json"]);
}

/// A named temp is owner-only (`0600`) while data is written, whatever the
/// final mode: a member of the writer's group who is not in the target's
/// group can't open it. Group and bits are given at commit.
#[test]
fn named_temp_owner_only_while_writing() {
    let d = scratch();
    for (existing, explicit) in [
        (Some(0o640), None),
        (Some(0o600), Some(0o664)),
        (None, Some(0o644)),
    ] {
        let p = d.path().join("shared");
        let _ = fs::remove_file(&p);
        if let Some(m) = existing {
            fs::write(&p, b"old").unwrap();
            chmod(&p, m);
        }
        let mut o = opts(true);
        if let Some(m) = explicit {
            o.mode(m);
        }
        let mut f = o.create(&p).unwrap();
        f.write_all(b"new").unwrap();
        let others: &[&[u8]] = if existing.is_some() {
            &[b"shared"]
        } else {
            &[]
        };
        let t = assert_mid_write(d.path(), others, b"shared", true).unwrap();
        let tmode = fs::symlink_metadata(d.path().join(OsStr::from_bytes(&t)))
            .unwrap()
            .mode()
            & 0o7777;
        assert_eq!(
            tmode & !0o600,
            0,
            "temp {tmode:#o} opens to others while writing"
        );
        f.commit().unwrap();
        assert_eq!(mode(&p), explicit.or(existing).unwrap());
    }
}

/// Two writes at once get different temp names (random, not per-target).
#[test]
fn named_temps_are_random() {
    let d = scratch();
    let p = d.path().join("t");
    let f1 = opts(true).create(&p).unwrap();
    let f2 = opts(true).create(&p).unwrap();
    let t = temps(d.path());
    assert_eq!(t.len(), 2);
    assert_ne!(t[0], t[1]);
    drop((f1, f2));
    assert_only(d.path(), &[]);
}

/// A named temp is removed on drop, on discard, on a failed commit and when
/// `write_bytes` fails; the O_TMPFILE path leaves nothing either.
#[test]
fn named_temp_removed_on_every_abandon() {
    let d = scratch();
    let p = d.path().join("t");
    fs::write(&p, b"old").unwrap();

    let f = opts(true).create(&p).unwrap();
    assert_eq!(temps(d.path()).len(), 1);
    drop(f);
    assert_only(d.path(), &["t"]);

    let f = opts(true).create(&p).unwrap();
    assert_eq!(temps(d.path()).len(), 1);
    f.discard().unwrap();
    assert_only(d.path(), &["t"]);

    // A commit that fails (no_clobber, the target exists by then).
    let q = d.path().join("q");
    let f = opts(true).no_clobber(true).create(&q).unwrap();
    assert_eq!(temps(d.path()).len(), 1);
    fs::write(&q, b"someone else").unwrap();
    assert!(f.commit().is_err());
    assert_only(d.path(), &["q", "t"]);
    assert_eq!(read(&q), b"someone else");
    assert_eq!(read(&p), b"old");
}

/// A write belongs to the process that created it: a forked child that drops
/// or discards its copy of the `AtomicFile` (as a child returning through
/// ordinary code does) removes nothing, and the parent commits what it wrote,
/// on both temp paths.
#[test]
fn forked_child_leaves_the_parents_write() {
    for named in [true, false] {
        for discard in [false, true] {
            let d = scratch();
            let p = d.path().join("t");
            fs::write(&p, b"old").unwrap();
            let mut f = opts(named).create(&p).unwrap();
            f.write_all(b"the parent's ").unwrap();
            // The child only drops or discards, then `_exit`s: no allocation
            // lock can be held (glibc resets them in a forked child).
            #[allow(unsafe_code)]
            // SAFETY: fork has no memory-safety precondition; the child only
            // runs `AtomicFile`'s drop or discard, then `_exit`.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
            if pid == 0 {
                let ok = if discard {
                    f.discard().is_ok()
                } else {
                    drop(f);
                    true
                };
                #[allow(unsafe_code)]
                // SAFETY: ends the child without running the parent's exit code.
                unsafe {
                    libc::_exit(if ok { 0 } else { 1 })
                };
            }
            let mut status = 0;
            #[allow(unsafe_code)]
            // SAFETY: waits for our own child, `status` is a valid pointer.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            assert_eq!(r, pid);
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "{status}"
            );
            assert_eq!(temps(d.path()).len(), usize::from(named), "named={named}");
            f.write_all(b"write").unwrap();
            f.commit()
                .unwrap_or_else(|e| panic!("named={named} discard={discard}: {e}"));
            assert_eq!(read(&p), b"the parent's write");
            assert_only(d.path(), &["t"]);
        }
    }
}

/// `discard()` reports a failure to remove the temp, which `Drop` would hide:
/// here the temp was already removed behind its back.
#[test]
fn discard_reports_errors() {
    let d = scratch();
    let p = d.path().join("t");
    let f = opts(true).create(&p).unwrap();
    let t = temps(d.path()).pop().unwrap();
    fs::remove_file(d.path().join(std::ffi::OsStr::from_bytes(&t))).unwrap();
    let err = f.discard().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(
        err.to_string()
            .starts_with("failed to remove temporary file"),
        "{err}"
    );
}

both_paths! {
    /// The CLI mid-input, observed from outside: with `ATOMIC_WRITE_NO_TMPFILE=1`
    /// a named temp is on disk; without it, the process holds an unnamed
    /// temp (`/proc/PID/fd` → `DIR/#INODE (deleted)`) and the directory has
    /// nothing but the target. After EOF: committed, nothing else left.
    fn cli_temp_while_reading(named: bool) {
        let d = scratch();
        let p = d.path().join("out");
        fs::write(&p, b"old").unwrap();
        let mut g = ChildGuard(Some(
            cli(named)
                .arg(&p)
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ));
        let pid = g.child().id();
        let mut stdin = g.child().stdin.take().unwrap();
        stdin.write_all(b"partial ").unwrap();
        if named {
            wait_until(20, "the named temp", || temps(d.path()).len() == 1);
            assert_mid_write(d.path(), &[b"out"], b"out", true);
        } else {
            wait_until(20, "the unnamed temp", || holds_unnamed_temp(pid, d.path()));
            assert_only(d.path(), &["out"]);
        }
        assert_eq!(read(&p), b"old");
        stdin.write_all(b"rest").unwrap();
        drop(stdin);
        let out = g.take().wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&p), b"partial rest");
        assert_only(d.path(), &["out"]);
    }

    /// The syscalls, in order (seen with strace): the temp is created in the
    /// target's directory (O_TMPFILE, or O_CREAT|O_EXCL|O_NOFOLLOW under a
    /// hidden name), chmod'ed, fsync'ed, linked (O_TMPFILE only) just before
    /// the rename over the target, and the directory is fsync'ed last.
    #[ignore = "needs strace"]
    fn syscall_order(named: bool) {
        require("strace");
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"old").unwrap();
        chmod(&p, 0o640);
        let log = d.path().join("..").join(format!(
            "{}.strace",
            d.path().file_name().unwrap().to_string_lossy()
        ));
        let _cleanup = scopeguard::guard(log.clone(), |l| {
            let _ = fs::remove_file(l);
        });
        let mut c = std::process::Command::new("strace");
        c.args(["-f", "-qq", "-o"])
            .arg(&log)
            .args(["-e", "trace=openat,fchmod,fchown,fsync,fdatasync,linkat,renameat,renameat2,write"])
            .arg(bin())
            .arg(&p);
        if named {
            c.env("ATOMIC_WRITE_NO_TMPFILE", "1");
        }
        let out = cli_input(&mut c, b"new");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&p), b"new");
        let trace = fs::read_to_string(&log).unwrap();
        // Keep only the interesting calls, from the directory open onwards.
        let dir = format!("\"{}\"", d.path().display());
        let lines: Vec<&str> = trace
            .lines()
            .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest).trim())
            .skip_while(|l| !(l.starts_with("openat(AT_FDCWD, ") && l.contains(&dir)))
            .filter(|l| !l.contains("ENOENT") && !l.starts_with("write(2"))
            .collect();
        let pos = |pat: &dyn Fn(&str) -> bool, what: &str| {
            lines
                .iter()
                .position(|l| pat(l))
                .unwrap_or_else(|| panic!("no {what} in trace:\n{}", lines.join("\n")))
        };
        // Descriptor numbers come from the trace itself, never assumed: under
        // a parent that leaves descriptors open (a make jobserver, a mutation
        // harness) the directory is not 3.
        let ret = |l: &str| -> String {
            l.rsplit_once(" = ")
                .and_then(|(_, r)| r.split_whitespace().next())
                .unwrap_or_else(|| panic!("no return value in {l:?}"))
                .to_string()
        };
        let dirfd = ret(lines.first().expect("the directory open"));
        let create = if named {
            pos(
                &|l| {
                    l.starts_with(&format!("openat({dirfd}, \".f.atomic-write-"))
                        && l.contains("O_CREAT")
                        && l.contains("O_EXCL")
                        && l.contains("O_NOFOLLOW")
                },
                "named temp creation",
            )
        } else {
            pos(
                &|l| l.starts_with(&format!("openat({dirfd}, \".\",")) && l.contains("O_TMPFILE"),
                "O_TMPFILE open",
            )
        };
        let fd = ret(lines[create]);
        let data = pos(&|l| l.starts_with(&format!("write({fd}, \"new\"")), "data write");
        let fsync_file = pos(&|l| l.starts_with(&format!("fsync({fd})")), "fsync of the temp");
        // The unnamed temp is created with the target's bits (fchmod runs only
        // when the umask took some away); the named one owner-only (0600),
        // and fchmod gives it the final bits. Either way fchmod comes between
        // the data and the fsync.
        let chmod_ = lines
            .iter()
            .position(|l| l.starts_with(&format!("fchmod({fd}, 0640)")))
            .unwrap_or(fsync_file - 1);
        if named {
            assert!(lines[create].contains("0600"), "named temp not created owner-only");
            assert!(lines[chmod_].starts_with(&format!("fchmod({fd}, 0640)")), "no fchmod");
        } else {
            assert!(lines[create].contains("0640"), "temp not created with the target's bits");
        }
        assert_eq!(mode(&p), 0o640);
        let rename = pos(
            &|l| {
                l.starts_with(&format!("renameat({dirfd}, \".f.atomic-write-"))
                    && l.contains(&format!(", {dirfd}, \"f\")"))
            },
            "rename",
        );
        let fsync_dir = pos(&|l| l.starts_with(&format!("fsync({dirfd})")), "fsync of the directory");
        assert!(create < data && data <= chmod_ && chmod_ < fsync_file, "{}", lines.join("\n"));
        assert!(fsync_file < rename && rename < fsync_dir, "{}", lines.join("\n"));
        if named {
            assert!(
                !lines.iter().any(|l| l.starts_with("linkat(")),
                "named temps need no link"
            );
        } else {
            let link = pos(
                &|l| l.starts_with("linkat(") && l.contains(&format!(", {dirfd}, \".f.atomic-write-")),
                "linkat naming the temp",
            );
            assert_eq!(link + 1, rename, "the link must come just before the rename:\n{}", lines.join("\n"));
            assert!(fsync_file < link);
        }
    }
}

/// `sweep` removes only stale temps: regular files with our exact name shape,
/// older than the limit. Not fresh temps, not look-alikes, not directories or
/// symlinks of that shape, not other files.
#[test]
fn sweep_removes_only_stale_temps() {
    let d = scratch();
    let dir = d.path();
    let hour_ago = SystemTime::now() - Duration::from_secs(7200);
    let mk = |name: &str, old: bool| {
        let p = dir.join(name);
        fs::write(&p, b"x").unwrap();
        if old {
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        }
    };
    mk(".a.atomic-write-0123456789abcdef.tmp", true); // stale: goes
    mk(".b c.atomic-write-fedcba9876543210.tmp", true); // stale: goes
    mk(".a.atomic-write-0123456789abcde0.tmp", false); // fresh: stays
    mk(".a.atomic-write-0123456789ABCDEF.tmp", true); // upper-case hex: not ours
    mk(".a.atomic-write-0123456789abcde.tmp", true); // 15 hex: not ours
    mk("a.atomic-write-0123456789abcdef.tmp", true); // not hidden: not ours
    mk(".a.atomic-write-0123456789abcdef.tmp.bak", true);
    mk("data.txt", true);
    fs::create_dir(dir.join(".d.atomic-write-0123456789abcdef.tmp")).unwrap();
    std::os::unix::fs::symlink("data.txt", dir.join(".l.atomic-write-0123456789abcdef.tmp"))
        .unwrap();
    let mut expected = names(dir);
    expected.retain(|n| {
        n != ".a.atomic-write-0123456789abcdef.tmp" && n != ".b c.atomic-write-fedcba9876543210.tmp"
    });

    // Through the CLI (the default age is one hour: our stale ones are two).
    let out = run(std::process::Command::new(bin()).arg("--sweep").arg(dir));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(dir), expected);
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed 2"));

    // Through the library, with an age of zero the fresh one goes too.
    let n = atomic_write::sweep(dir, Duration::ZERO).unwrap();
    assert_eq!(n, 1);
    expected.retain(|n| n != ".a.atomic-write-0123456789abcde0.tmp");
    assert_eq!(names(dir), expected);
    assert_eq!(read(&dir.join("data.txt")), b"x");
}

/// A live writer's temp survives `--sweep --older-than 0`, however idle the
/// writer: it is locked. The commit then succeeds.
#[test]
fn sweep_spares_live_writer() {
    let d = scratch();
    let p = d.path().join("t");
    let mut f = opts(true).create(&p).unwrap();
    f.write_all(b"in progress").unwrap();
    let out = run(std::process::Command::new(bin())
        .args(["--sweep", "--older-than", "0"])
        .arg(d.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(temps(d.path()).len(), 1, "a live writer's temp was swept");
    assert_eq!(atomic_write::sweep(d.path(), Duration::ZERO).unwrap(), 0);
    f.commit().unwrap();
    assert_eq!(read(&p), b"in progress");
    assert_only(d.path(), &["t"]);
}

/// The library reads no environment variable: `ATOMIC_WRITE_NO_TMPFILE=1`
/// (the CLI's and the Python package's test hook) leaves a program that
/// embeds it on the unnamed temp; `Options::unnamed_temp(false)` is how a
/// caller asks for the named one.
#[test]
fn library_ignores_no_tmpfile_env() {
    let out = run(
        child_test("named_temp::library_ignores_no_tmpfile_env_child")
            .env("ATOMIC_WRITE_NO_TMPFILE", "1")
            .env("ATOMIC_WRITE_NO_XATTRAT", "1"),
    );
    assert_child_ok(&out);
}

#[test]
#[ignore = "child process of library_ignores_no_tmpfile_env"]
fn library_ignores_no_tmpfile_env_child() {
    if !is_child() {
        return;
    }
    let d = scratch();
    let first = atomic_write::AtomicFile::create(d.path().join("a")).unwrap();
    assert!(
        format!("{first:?}").contains("temp: None"),
        "{first:?}: the library read ATOMIC_WRITE_NO_TMPFILE"
    );
    let second = atomic_write::Options::new()
        .unnamed_temp(false)
        .create(d.path().join("b"))
        .unwrap();
    assert!(
        !format!("{second:?}").contains("temp: None"),
        "{second:?}: unnamed_temp(false) gave an unnamed temp"
    );
    drop((first, second));
    println!("{CHILD_OK}");
}
