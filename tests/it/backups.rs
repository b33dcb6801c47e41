//! Crash-safe backups, in the library and the CLI (`backup` / `--backup`).
//! Their behaviour under crashes and power loss is in tests/crash_kill.rs and
//! tests/power_fuse.rs.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;

use atomic_write::Options;

use crate::common::*;

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

    /// The backup's name already a hard link of the target (`ln f f~`, also
    /// a crash state between a backup and its commit): the rename of the
    /// hidden link over it does nothing, and the hidden link must not stay.
    /// (Issue 15, item 3.)
    fn backup_over_a_link_of_the_target(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        let b = d.path().join("f~");
        fs::write(&p, b"v1").unwrap();
        fs::hard_link(&p, &b).unwrap();
        opts(named).backup("~").write_bytes(&p, b"v2").unwrap();
        assert_eq!(read(&p), b"v2");
        assert_eq!(read(&b), b"v1");
        assert_eq!(fs::metadata(&b).unwrap().nlink(), 1);
        assert_only(d.path(), &["f", "f~"]);
        // The CLI too.
        fs::hard_link(&p, d.path().join("g")).unwrap();
        fs::rename(d.path().join("g"), &b).unwrap();
        let out = cli_input(cli(named).arg("--backup=simple").arg(&p), b"v3");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!((read(&p), read(&b)), (b"v3".to_vec(), b"v2".to_vec()));
        assert_only(d.path(), &["f", "f~"]);
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
    #[ignore = "needs root"]
    fn backup_keeps_a_foreign_owner(named: bool) {
        require_root();
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
#[ignore = "needs root, setpriv, setfattr, getfattr"]
fn backup_copy_where_hard_links_are_refused() {
    require_root();
    require("setpriv");
    require("setfattr");
    require("getfattr");
    let protected = fs::read_to_string("/proc/sys/fs/protected_hardlinks").unwrap_or_default();
    if protected.trim() != "1" {
        missing("fs.protected_hardlinks=1");
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
        // `-f`: root's file is not nobody's to write (issue 19, item 5).
        let out = cli_input(as_nobody(bin()).args(["-f", "--backup"]).arg(&p), b"v2");
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
    /// `--backup` alone makes `PATH~` (existing, without numbered backups);
    /// `-S SUFFIX` another suffix; `--backup=X` takes a kind only, so
    /// `--backup=.bak` (a suffix on main) is a usage error that points at
    /// `-S .bak`, and `--backup PATH` writes PATH.
    fn cli_backup(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"v1").unwrap();
        let out = cli_input(cli(named).arg("--backup").arg(&p), b"v2");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&d.path().join("f~")), b"v1");
        let out = cli_input(cli(named).args(["-S", ".bak"]).arg(&p), b"v3");
        assert!(out.status.success());
        assert_eq!(read(&d.path().join("f.bak")), b"v2");
        assert_eq!(read(&p), b"v3");
        let out = cli_input(cli(named).arg("--backup=.bak").arg(&p), b"v4");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("-S .bak"), "{err}");
        assert_eq!(read(&p), b"v3");
        assert_only(d.path(), &["f", "f.bak", "f~"]);
    }
}
