//! Real faults, no simulation: a full tmpfs (ENOSPC on write and on inode
//! creation), `mount -o remount,ro`, `chattr +i` on the target and on the
//! directory and `chattr +a` on the directory (on a loop-mounted ext4: tmpfs
//! has no such attributes), a bind mount over the target (EBUSY), and an
//! unprivileged user. Every case runs the CLI on both temp paths (`O_TMPFILE`
//! and named) and checks: exit 1 with the errno's message, the target
//! byte-identical with its metadata, and no temp left — or, where removing the
//! temp is itself refused, an error that says so.
//!
//! Root only, and part of the full suite. Every mount, loop device and
//! attribute is undone by a guard, also when a test fails.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::scenario::{Snap, TargetSnap};
use crate::common::trace::Scene;
use crate::common::versions::encode;
use crate::common::writers::Writer;
use crate::common::{sh, shell_quote, Mount};

fn ready() {
    common::require_root();
}

/// Runs `writer` replacing `target` with `data`.
fn write(writer: Writer, target: &Path, data: &[u8], mut cmd: Option<Command>) -> Output {
    let (argv, env) = writer.argv(target);
    let mut c = match cmd.take() {
        Some(mut c) => {
            c.args(&argv);
            c
        }
        None => {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
    };
    c.envs(env);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("spawn writer");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(data);
    }
    child.wait_with_output().unwrap()
}

fn scene(dir: &Path) -> Scene {
    Scene {
        dir: dir.to_path_buf(),
        given: dir.join("t"),
        target: dir.join("t"),
    }
}

/// Whether the write failed with `errno`, touching nothing.
fn refused(out: &Output, errno: i32, before: &Snap, dir: &Path) -> Result<(), String> {
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(1) {
        return Err(format!("exit {:?}: {err}", out.status.code()));
    }
    if !err.contains(&format!("(os error {errno})")) {
        return Err(format!("expected errno {errno}: {err}"));
    }
    if err.trim_end().lines().count() != 1 {
        return Err(format!("not one line on stderr: {err}"));
    }
    let now = Snap::take(&scene(dir));
    if &now != before {
        return Err(format!(
            "the directory or target changed:\nbefore {before:?}\nafter  {now:?}"
        ));
    }
    Ok(())
}

#[track_caller]
fn assert_refused(out: &Output, errno: i32, before: &Snap, dir: &Path, what: &str) {
    if let Err(e) = refused(out, errno, before, dir) {
        panic!("{what}: {e}");
    }
}

const WRITERS: [Writer; 2] = [Writer::Cli, Writer::CliNamed];

#[test]
#[ignore = "full suite: root"]
fn full_tmpfs_enospc_on_write() {
    ready();
    let m = Mount::tmpfs("256k", "");
    let dir = m.path.join("d");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("t"), encode(1, 1000)).unwrap();
    let before = Snap::take(&scene(&dir));
    for w in WRITERS {
        let out = write(w, &dir.join("t"), &encode(2, 1 << 20), None);
        assert_refused(&out, libc::ENOSPC, &before, &dir, &w.name());
    }
    // The library says StorageFull, and leaves nothing either.
    let e = atomic_write::write_bytes(dir.join("t"), &encode(3, 1 << 20)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
    assert_eq!(Snap::take(&scene(&dir)), before);
    // A write that fits still works.
    let out = write(Writer::Cli, &dir.join("t"), &encode(4, 1000), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same check passes the correct Python writer and flags truncating in
/// place, leaving the temp behind and ignoring errors.
#[test]
#[ignore = "full suite: root, python3"]
fn full_tmpfs_check_flags_broken_writers() {
    ready();
    common::require("python3");
    use common::writers;
    for (w, broken) in [
        (writers::GOOD, false),
        (writers::TRUNCATE_IN_PLACE, true),
        (writers::LEAVES_TEMP, true),
        (writers::IGNORES_ERRORS, true),
    ] {
        let m = Mount::tmpfs("256k", "");
        let dir = m.path.join("d");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("t"), encode(1, 1000)).unwrap();
        let before = Snap::take(&scene(&dir));
        let out = write(w, &dir.join("t"), &encode(2, 1 << 20), None);
        let r = refused(&out, libc::ENOSPC, &before, &dir);
        eprintln!("{}: {r:?}", w.name());
        assert_eq!(r.is_err(), broken, "{}: {r:?}", w.name());
    }
}

#[test]
#[ignore = "full suite: root"]
fn full_tmpfs_enospc_on_inode_creation() {
    ready();
    let m = Mount::tmpfs("4m", "nr_inodes=16");
    let dir = m.path.join("d");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("t"), encode(1, 1000)).unwrap();
    // Use up every inode.
    let fill = m.path.join("fill");
    fs::create_dir(&fill).unwrap();
    let mut n = 0;
    while fs::write(fill.join(n.to_string()), b"").is_ok() {
        n += 1;
        assert!(n < 100, "nr_inodes not honoured");
    }
    let before = Snap::take(&scene(&dir));
    for w in WRITERS {
        let out = write(w, &dir.join("t"), &encode(2, 100), None);
        assert_refused(&out, libc::ENOSPC, &before, &dir, &w.name());
        assert!(String::from_utf8_lossy(&out.stderr).contains("failed to create temporary file"));
    }
}

#[test]
#[ignore = "full suite: root"]
fn read_only_remount() {
    ready();
    let m = Mount::tmpfs("1m", "");
    let dir = m.path.join("d");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("t"), encode(1, 1000)).unwrap();
    m.remount_ro();
    let before = Snap::take(&scene(&dir));
    for w in WRITERS {
        let out = write(w, &dir.join("t"), &encode(2, 100), None);
        assert_refused(&out, libc::EROFS, &before, &dir, &w.name());
    }
    let e = atomic_write::write_bytes(dir.join("t"), b"x").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ReadOnlyFilesystem, "{e}");
}

/// A small loop-mounted ext4 (for `chattr`); unmounts, detaches its loop
/// device and clears every attribute it set on drop.
struct Ext4 {
    _tmp: tempfile::TempDir,
    img: PathBuf,
    mnt: PathBuf,
    attrs: std::cell::RefCell<Vec<PathBuf>>,
}

impl Ext4 {
    fn new() -> Ext4 {
        let tmp = common::scratch();
        let img = tmp.path().join("ext4.img");
        let mnt = tmp.path().join("mnt");
        fs::create_dir(&mnt).unwrap();
        sh(&format!(
            "truncate -s 16M {0} && mkfs.ext4 -q -F {0}",
            shell_quote(&img)
        ));
        sh(&format!(
            "mount -o loop {} {}",
            shell_quote(&img),
            shell_quote(&mnt)
        ));
        Ext4 {
            _tmp: tmp,
            img,
            mnt,
            attrs: Default::default(),
        }
    }
    fn chattr(&self, flag: &str, p: &Path) {
        self.attrs.borrow_mut().push(p.to_path_buf());
        sh(&format!("chattr {flag} {}", shell_quote(p)));
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        for p in self.attrs.borrow().iter() {
            let _ = Command::new("chattr").arg("-i").arg("-a").arg(p).status();
        }
        let m = shell_quote(&self.mnt);
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("umount {m} || umount -l {m}"))
            .status();
        // `mount -o loop` detaches on unmount; make sure.
        if let Ok(o) = Command::new("losetup").arg("-j").arg(&self.img).output() {
            for line in String::from_utf8_lossy(&o.stdout).lines() {
                if let Some(dev) = line.split(':').next() {
                    let _ = Command::new("losetup").arg("-d").arg(dev).status();
                }
            }
        }
    }
}

#[test]
#[ignore = "full suite: root, mkfs.ext4, chattr"]
fn immutable_target_and_directory() {
    ready();
    common::require("mkfs.ext4");
    common::require("chattr");
    let fs4 = Ext4::new();
    let dir = fs4.mnt.join("d");
    fs::create_dir(&dir).unwrap();
    let t = dir.join("t");
    fs::write(&t, encode(1, 1000)).unwrap();

    fs4.chattr("+i", &t);
    let before = Snap::take(&scene(&dir));
    for w in WRITERS {
        let out = write(w, &t, &encode(2, 100), None);
        assert_refused(
            &out,
            libc::EPERM,
            &before,
            &dir,
            &format!("{} on an immutable target", w.name()),
        );
    }
    sh(&format!("chattr -i {}", shell_quote(&t)));

    fs4.chattr("+i", &dir);
    let before = Snap::take(&scene(&dir));
    for w in WRITERS {
        let out = write(w, &t, &encode(2, 100), None);
        assert_refused(
            &out,
            libc::EPERM,
            &before,
            &dir,
            &format!("{} in an immutable directory", w.name()),
        );
    }
}

/// In an append-only directory a temp can be created (and, with `O_TMPFILE`,
/// named) but neither renamed over the target nor removed: the target is
/// untouched and the error says the temp was left behind. `sweep` cannot
/// remove it either, and says which file.
#[test]
#[ignore = "full suite: root, mkfs.ext4, chattr"]
fn append_only_directory_refuses_cleanup_and_says_so() {
    ready();
    common::require("mkfs.ext4");
    common::require("chattr");
    let fs4 = Ext4::new();
    let dir = fs4.mnt.join("d");
    fs::create_dir(&dir).unwrap();
    let t = dir.join("t");
    fs::write(&t, encode(1, 1000)).unwrap();
    let before: Option<TargetSnap> = Snap::take(&scene(&dir)).target;
    fs4.chattr("+a", &dir);
    for w in WRITERS {
        let out = write(w, &t, &encode(2, 100), None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("(os error 1)"), "{err}");
        assert_eq!(
            Snap::take(&scene(&dir)).target,
            before,
            "{}: the target changed",
            w.name()
        );
        let left: Vec<String> = common::names(&dir)
            .into_iter()
            .filter(|n| n != "t")
            .collect();
        assert!(
            !left.is_empty(),
            "{}: expected the refused temp to stay",
            w.name()
        );
        let newest = left
            .iter()
            .find(|n| err.contains(n.as_str()))
            .unwrap_or_else(|| {
                panic!(
                    "{}: the error does not name the temp left behind ({left:?}): {err}",
                    w.name()
                )
            });
        assert!(err.contains("left behind"), "{}: {err}", w.name());
        eprintln!("{}: {err} (temp {newest})", w.name());
    }
    let e = atomic_write::sweep(&dir, std::time::Duration::ZERO).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    assert!(
        e.to_string()
            .contains("failed to remove 2 stale temporary file(s)")
            && e.to_string().contains("(0 removed)"),
        "{e}"
    );
    // Once the attribute is gone, sweep cleans up.
    sh(&format!("chattr -a {}", shell_quote(&dir)));
    assert_eq!(
        atomic_write::sweep(&dir, std::time::Duration::ZERO).unwrap(),
        2
    );
    assert_eq!(common::names(&dir), vec!["t".to_string()]);

    // `commit_all` too: every rename is refused, no temp can be removed, and
    // the error names each one left behind (on main, only the rename error,
    // and `Drop` left the temps silently).
    let mut named = atomic_write::Options::new();
    named.unnamed_temp(false);
    let files: Vec<atomic_write::AtomicFile> = ["t", "u", "v"]
        .iter()
        .map(|n| {
            let mut f = named.create(dir.join(n)).unwrap();
            std::io::Write::write_all(&mut f, b"batch").unwrap();
            f
        })
        .collect();
    fs4.chattr("+a", &dir);
    let e = atomic_write::commit_all(files).unwrap_err();
    let msg = e.to_string();
    assert_eq!(atomic_write::os_error(&e), Some(libc::EPERM), "{msg}");
    let left: Vec<String> = common::names(&dir)
        .into_iter()
        .filter(|n| n != "t")
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
    for n in &left {
        assert!(
            msg.contains(n.as_str()),
            "the error does not name {n}: {msg}"
        );
    }
    assert_eq!(msg.matches("was left behind").count(), 3, "{msg}");
    assert!(msg.contains("no target was replaced"), "{msg}");
    assert_eq!(Snap::take(&scene(&dir)).target, before);
    sh(&format!("chattr -a {}", shell_quote(&dir)));
}

/// A bind mount over the target cannot be renamed over: EBUSY, nothing left.
#[test]
#[ignore = "full suite: root"]
fn bind_mount_over_the_target() {
    ready();
    let tmp = common::scratch();
    let dir = tmp.path().join("d");
    fs::create_dir(&dir).unwrap();
    let t = dir.join("t");
    fs::write(&t, encode(1, 1000)).unwrap();
    let other = tmp.path().join("other");
    fs::write(&other, encode(7, 500)).unwrap();
    sh(&format!(
        "mount --bind {} {}",
        shell_quote(&other),
        shell_quote(&t)
    ));
    let _unmount = scopeguard::guard(t.clone(), |t| {
        let q = shell_quote(&t);
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("umount {q} || umount -l {q}"))
            .status();
    });
    let before = Snap::take(&scene(&dir));
    for w in WRITERS {
        let out = write(w, &t, &encode(2, 100), None);
        assert_refused(&out, libc::EBUSY, &before, &dir, &w.name());
    }
    assert_eq!(common::read(&other), encode(7, 500));
}

/// An unprivileged user: refused where the directory is not writable (the
/// target's own bits do not matter), allowed where it is.
#[test]
#[ignore = "full suite: root, setpriv"]
fn unprivileged_user() {
    ready();
    common::require("setpriv");
    let tmp = common::scratch();
    common::chmod(tmp.path(), 0o755);
    let dir = tmp.path().join("d");
    fs::create_dir(&dir).unwrap();
    common::chmod(&dir, 0o755);
    let t = dir.join("t");
    fs::write(&t, encode(1, 1000)).unwrap();
    common::chmod(&t, 0o666); // writable in place, but the directory is not
    let before = Snap::take(&scene(&dir));
    for w in WRITERS {
        let out = write(w, &t, &encode(2, 100), Some(nobody()));
        assert_refused(&out, libc::EACCES, &before, &dir, &w.name());
        assert!(String::from_utf8_lossy(&out.stderr).contains("failed to create temporary file"));
    }
    // A directory nobody may write, and a target it may write (root's
    // 0644 file would be refused, as `>` refuses it: tests/it/force.rs):
    // the write works, the mode is kept, the owner becomes the writer (only
    // root may give files away).
    sh(&format!("chown 65534:65534 {}", shell_quote(&dir)));
    common::chmod(&t, 0o666);
    for (i, w) in WRITERS.into_iter().enumerate() {
        let data = encode(10 + i as u64, 100);
        let out = write(w, &t, &data, Some(nobody()));
        assert!(
            out.status.success(),
            "{}: {}",
            w.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(common::read(&t), data);
        assert_eq!(common::mode(&t), 0o666);
        assert_eq!(common::owner(&t), (65534, 65534));
        assert_eq!(common::names(&dir), vec!["t".to_string()]);
    }
    // Sweeping a directory one may not read is an error that names it.
    let private = tmp.path().join("private");
    fs::create_dir(&private).unwrap();
    common::chmod(&private, 0o700);
    let out = common::run(nobody().args([common::bin(), "--sweep"]).arg(&private));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{private:?}")) && err.contains("(os error 13)"),
        "{err}"
    );
}

fn nobody() -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
    c
}
