//! Fail-fast errors from `create()` (target untouched, nothing left anywhere),
//! disk-full failures at write or commit, and messages that name the step and
//! the path.

use std::fs;
use std::io::{self, ErrorKind, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;

use crate::common::*;
use atomic_write::os_error;

both_paths! {
    /// Missing parent: `NotFound`, naming the directory.
    fn parent_missing(named: bool) {
        let d = scratch();
        let p = d.path().join("missing/f");
        let err = opts(named).create(&p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(os_error(&err), Some(libc::ENOENT));
        assert_eq!(
            err.to_string(),
            format!(
                "failed to open directory {:?}: No such file or directory (os error 2)",
                d.path().join("missing")
            )
        );
        assert_only(d.path(), &[]);
    }

    /// A parent that is a file: `NotADirectory`, the file untouched.
    fn parent_is_file(named: bool) {
        let d = scratch();
        fs::write(d.path().join("file"), b"keep").unwrap();
        let err = opts(named).create(d.path().join("file/f")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotADirectory, "{err}");
        assert_eq!(read(&d.path().join("file")), b"keep");
        assert_only(d.path(), &["file"]);
    }

    /// Target is a directory: `IsADirectory`, directory and contents untouched.
    fn target_is_directory(named: bool) {
        let d = scratch();
        let t = d.path().join("dir");
        fs::create_dir(&t).unwrap();
        fs::write(t.join("inside"), b"x").unwrap();
        let err = opts(named).create(&t).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IsADirectory);
        assert_eq!(os_error(&err), Some(libc::EISDIR));
        assert_eq!(
            err.to_string(),
            format!("cannot replace {t:?}: Is a directory (os error 21)")
        );
        assert!(t.is_dir());
        assert_only(d.path(), &["dir"]);
        assert_only(&t, &["inside"]);
    }

    /// Target is a FIFO: `InvalidInput`, without blocking (a FIFO is never
    /// opened), the FIFO still there.
    fn target_is_fifo(named: bool) {
        let d = scratch();
        let t = d.path().join("fifo");
        mkfifo(&t);
        let p = t.clone();
        let err = within(10, "create() on a FIFO", move || {
            opts(named).create(&p).map(drop).unwrap_err()
        });
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("cannot replace {t:?}")), "{msg}");
        let p = t.clone();
        let err = within(10, "write_bytes() on a FIFO", move || {
            opts(named).write_bytes(&p, b"x").unwrap_err()
        });
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::symlink_metadata(&t).unwrap().file_type().is_fifo());
        assert_only(d.path(), &["fifo"]);
    }

    /// Target is a socket: `InvalidInput` too.
    fn target_is_socket(named: bool) {
        let d = scratch();
        let t = d.path().join("sock");
        let _l = UnixListener::bind(&t).unwrap();
        let err = opts(named).create(&t).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_only(d.path(), &["sock"]);
    }

    /// Empty paths and paths with a NUL byte: `InvalidInput`, nothing written.
    fn invalid_paths(named: bool) {
        let err = opts(named).create("").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let d = scratch();
        let err = opts(named).create(d.path().join("a\0b")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        // A trailing slash never names a file to replace.
        fs::write(d.path().join("f"), b"keep").unwrap();
        let mut s = d.path().join("f").into_os_string();
        s.push("/");
        assert!(opts(named).create(&s).is_err());
        assert_eq!(read(&d.path().join("f")), b"keep");
        assert_only(d.path(), &["f"]);
    }

    /// Read-only filesystem: `ReadOnlyFilesystem` from `create()`, naming the
    /// step and the directory; the target untouched.
    #[ignore = "needs root"]
    fn read_only_mount(named: bool) {
        require_root();
        let m = Mount::tmpfs("1m", "");
        let p = m.path.join("f");
        fs::write(&p, b"old").unwrap();
        m.remount_ro();
        let err = opts(named).create(&p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ReadOnlyFilesystem, "{err}");
        assert_eq!(os_error(&err), Some(libc::EROFS));
        assert_eq!(
            err.to_string(),
            format!(
                "failed to create temporary file in {:?}: Read-only file system (os error 30)",
                m.path
            )
        );
        let err = opts(named).write_bytes(m.path.join("new"), b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ReadOnlyFilesystem, "{err}");
        assert_eq!(read(&p), b"old");
        assert_only(&m.path, &["f"]);
    }

    /// Disk full (64 KiB tmpfs): streaming 1 MiB fails at write or commit with
    /// `StorageFull`; the old content stays and no temp is left.
    #[ignore = "needs root"]
    fn disk_full_streaming(named: bool) {
        require_root();
        let m = Mount::tmpfs("64k", "");
        let p = m.path.join("f");
        fs::write(&p, b"old content").unwrap();
        let err = (|| -> io::Result<()> {
            let mut f = opts(named).create(&p)?;
            for _ in 0..16 {
                f.write_all(&[0x5a; 64 << 10])?;
            }
            f.commit()
        })()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StorageFull, "{err}");
        assert_eq!(read(&p), b"old content");
        assert_only(&m.path, &["f"]);
        // The space is free again: a small write succeeds. The temp's pages
        // are freed when its last reference goes, and a child being spawned
        // by a parallel test holds a copy of every descriptor until its exec,
        // so allow that moment to pass.
        let mut last = Ok(());
        for _ in 0..100 {
            last = opts(named).write_bytes(&p, b"fits");
            match &last {
                Err(e) if e.kind() == ErrorKind::StorageFull => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                _ => break,
            }
        }
        last.unwrap();
        assert_eq!(read(&p), b"fits");
        assert_only(&m.path, &["f"]);
    }

    /// Disk full through the one-shot: the message names the step and the path.
    #[ignore = "needs root"]
    fn disk_full_oneshot(named: bool) {
        require_root();
        let m = Mount::tmpfs("64k", "");
        let p = m.path.join("f");
        fs::write(&p, b"old").unwrap();
        let err = opts(named).write_bytes(&p, &vec![1u8; 1 << 20]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StorageFull, "{err}");
        assert_eq!(os_error(&err), Some(libc::ENOSPC));
        assert_eq!(
            err.to_string(),
            format!("failed to write temporary file for {p:?}: No space left on device (os error 28)")
        );
        assert_eq!(read(&p), b"old");
        assert_only(&m.path, &["f"]);
    }

    /// Disk full while `append(true)` copies the current content in
    /// `create()`: `StorageFull` naming the copy step; old content intact.
    #[ignore = "needs root"]
    fn disk_full_append_copy(named: bool) {
        require_root();
        let m = Mount::tmpfs("64k", "");
        let p = m.path.join("f");
        let old = vec![b'o'; 40 << 10];
        fs::write(&p, &old).unwrap();
        let err = opts(named).append(true).create(&p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StorageFull, "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("failed to copy {p:?} to its temporary file")),
            "{err}"
        );
        assert_eq!(read(&p), old);
        assert_only(&m.path, &["f"]);
    }

    /// No inode left for the temp: `StorageFull` from `create()`.
    #[ignore = "needs root"]
    fn no_inodes(named: bool) {
        require_root();
        let m = Mount::tmpfs("1m", "nr_inodes=3");
        let p = m.path.join("f");
        fs::write(&p, b"old").unwrap();
        // Fill the remaining inodes.
        let mut n = 0;
        while fs::write(m.path.join(format!("fill{n}")), b"").is_ok() {
            n += 1;
            assert!(n < 100, "nr_inodes not honoured");
        }
        let before = names(&m.path);
        let err = opts(named).create(&p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StorageFull, "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("failed to create temporary file in {:?}", m.path)),
            "{err}"
        );
        assert_eq!(read(&p), b"old");
        assert_eq!(names(&m.path), before);
    }

    /// Directory not writable by an unprivileged user: `PermissionDenied`
    /// from `create()` (library, in a child process run as uid 65534).
    #[ignore = "needs root, setpriv"]
    fn permission_denied_lib(named: bool) {
        require_root();
        require("setpriv");
        let (_t, d) = scratch_for_nobody(0o755);
        let p = d.join("f");
        fs::write(&p, b"old").unwrap();
        chmod(&p, 0o666); // the file is writable; its directory is not
        let mut c = as_nobody(std::env::current_exe().unwrap());
        c.args(["errors::create_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env("AW_CHILD", "1")
            .env("AW_PATH", &p)
            .env("AW_NAMED", if named { "1" } else { "0" });
        let out = run(&mut c);
        assert_child_ok(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("KIND=PermissionDenied\n"), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "MSG=failed to create temporary file in {d:?}: Permission denied (os error 13)\n"
            )),
            "{stdout}"
        );
        assert_eq!(read(&p), b"old");
        assert_only(&d, &["f"]);
    }

    /// The same through the CLI: exit 1 and one stderr line.
    #[ignore = "needs root, setpriv"]
    fn permission_denied_cli(named: bool) {
        require_root();
        require("setpriv");
        let (_t, d) = scratch_for_nobody(0o755);
        let p = d.join("f");
        fs::write(&p, b"old").unwrap();
        chmod(&p, 0o666);
        let mut c = as_nobody(bin());
        if named {
            c.env("ATOMIC_WRITE_NO_TMPFILE", "1");
        }
        let out = cli_input(c.arg(&p), b"new");
        let line = assert_io_failure(&out, &p);
        assert_eq!(
            line,
            format!(
                "atomic-write: {p:?}: failed to create temporary file in {d:?}: Permission denied (os error 13)"
            )
        );
        assert_eq!(read(&p), b"old");
        assert_only(&d, &["f"]);
    }

    /// A sticky directory (like /tmp) where the target belongs to someone
    /// else: the kernel refuses the rename (EPERM), which only `commit()` can
    /// find out. The write fails with exit 1 and one line, the target is
    /// untouched and the temp removed.
    #[ignore = "needs root, setpriv"]
    fn sticky_dir_foreign_target(named: bool) {
        require_root();
        require("setpriv");
        let (_t, d) = scratch_for_nobody(0o1777);
        let p = d.join("f");
        fs::write(&p, b"root's").unwrap();
        chmod(&p, 0o666);
        let mut c = as_nobody(bin());
        if named {
            c.env("ATOMIC_WRITE_NO_TMPFILE", "1");
        }
        let out = cli_input(c.arg(&p), b"nobody's");
        let line = assert_io_failure(&out, &p);
        assert!(line.contains("failed to rename"), "{line}");
        assert!(line.ends_with("Operation not permitted (os error 1)"), "{line}");
        assert_eq!(read(&p), b"root's");
        assert_eq!(owner(&p), (0, 0));
        assert_only(&d, &["f"]);
    }
}

/// Child half of `permission_denied_lib`: `create(AW_PATH)` must fail; prints
/// the error's kind and message.
#[test]
#[ignore = "child process of other tests"]
fn create_child() {
    if !is_child() {
        return;
    }
    let path = std::env::var_os("AW_PATH").unwrap();
    let named = std::env::var("AW_NAMED").is_ok_and(|v| v == "1");
    let err = opts(named).create(Path::new(&path)).unwrap_err();
    println!("KIND={:?}", err.kind());
    println!("MSG={err}");
    println!("{CHILD_OK}");
}

/// The cause is printed once: the message carries it and `source()` is `None`
/// (as fs-err does), so a chain reporter (`anyhow`'s `{:#}`) does not repeat
/// it; `os_error` still finds the raw errno in the crate's payload.
#[test]
fn error_cause_once() {
    let d = scratch();
    let err = atomic_write::write_bytes(d.path().join("no/such"), b"x").unwrap_err();
    assert!(std::error::Error::source(&err).is_none(), "{err:?}");
    assert_eq!(os_error(&err), Some(libc::ENOENT));
    // What `{:#}` of anyhow prints: every message along the chain.
    let mut chain = err.to_string();
    let mut cur = std::error::Error::source(&err);
    while let Some(e) = cur {
        chain.push_str(&format!(": {e}"));
        cur = e.source();
    }
    assert_eq!(
        chain.matches("No such file or directory").count(),
        1,
        "{chain}"
    );
}
