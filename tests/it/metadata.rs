//! Metadata: explicit modes applied exactly, existing modes (setuid/setgid
//! included) and owners kept, new files under the umask, and ownership
//! preservation skipped quietly for unprivileged writers.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;

both_paths! {
    /// An explicit mode is applied exactly: 0o755 on a file that was 0o600,
    /// setuid/setgid/sticky included, the umask not applied.
    fn explicit_mode_exact(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        std::fs::write(&p, b"old").unwrap();
        chmod(&p, 0o600);
        opts(named).mode(0o755).write_bytes(&p, b"new").unwrap();
        assert_eq!(mode(&p), 0o755);
        for m in [0o4755, 0o2750, 0o6711, 0o1777, 0o666, 0o777, 0o000, 0o444] {
            // `force`: after 0o000 and 0o444 the file is read-only to a non-root caller.
            opts(named).mode(m).force(true).write_bytes(&p, b"x").unwrap();
            assert_eq!(mode(&p), m, "mode {m:#o} not applied exactly");
        }
        // On a new file too, whatever the umask.
        let q = d.path().join("new");
        opts(named).mode(0o666).write_bytes(&q, b"n").unwrap();
        assert_eq!(mode(&q), 0o666);
        assert_only(d.path(), &["f", "new"]);
    }

    /// Without a mode, an existing target's bits are kept, setuid, setgid and
    /// sticky included, and bits the umask would clear (0o666, 0o777) too.
    fn existing_mode_kept(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        std::fs::write(&p, b"old").unwrap();
        for m in [0o640, 0o600, 0o666, 0o777, 0o4755, 0o2755, 0o6711, 0o1644, 0o400] {
            chmod(&p, m);
            // `force`: 0o400 is read-only to a non-root caller.
            opts(named).force(true).write_bytes(&p, b"new").unwrap();
            assert_eq!(mode(&p), m, "mode {m:#o} not kept");
            assert_eq!(read(&p), b"new");
        }
        assert_only(d.path(), &["f"]);
    }

    /// A new file without a mode gets 0o666 & !umask (this process's umask).
    fn new_file_umask(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        opts(named).write_bytes(&p, b"x").unwrap();
        assert_eq!(mode(&p), 0o666 & !current_umask());
    }

    /// While data is written, the temp is never more permissive than the
    /// result: no setuid yet, no bits beyond the final mode.
    fn temp_not_more_permissive(named: bool) {
        let d = scratch();
        let check = |f: &atomic_write::AtomicFile, final_mode: u32| {
            let t = f.as_file().metadata().unwrap().mode() & 0o7777;
            assert_eq!(t & !final_mode, 0, "temp {t:#o} more permissive than {final_mode:#o}");
            assert_eq!(t & 0o7000, 0, "temp {t:#o} has setuid/setgid/sticky while writing");
        };
        let p = d.path().join("secret");
        let mut f = opts(named).mode(0o600).create(&p).unwrap();
        f.write_all(b"k").unwrap();
        check(&f, 0o600);
        f.commit().unwrap();

        let mut f = opts(named).create(&p).unwrap();
        f.write_all(b"k2").unwrap();
        check(&f, 0o600);
        f.commit().unwrap();
        assert_eq!(mode(&p), 0o600);

        let s = d.path().join("suid");
        std::fs::write(&s, b"#!/bin/sh\n").unwrap();
        chmod(&s, 0o4750);
        let f = opts(named).create(&s).unwrap();
        check(&f, 0o4750);
        f.commit().unwrap();
        assert_eq!(mode(&s), 0o4750);
    }

    /// Root writing a file owned by 65534 keeps its owner and group, and a
    /// setuid bit survives (chown before chmod).
    #[ignore = "needs root"]
    fn owner_kept_by_root(named: bool) {
        require_root();
        let d = scratch();
        let p = d.path().join("f");
        std::fs::write(&p, b"old").unwrap();
        chown(&p, 65534, 65534);
        chmod(&p, 0o4755);
        opts(named).write_bytes(&p, b"new").unwrap();
        assert_eq!(owner(&p), (65534, 65534));
        assert_eq!(mode(&p), 0o4755, "setuid lost: chmod must come after chown");
        assert_eq!(read(&p), b"new");

        // Group only differs.
        chown(&p, 0, 65534);
        chmod(&p, 0o2750);
        opts(named).write_bytes(&p, b"newer").unwrap();
        assert_eq!(owner(&p), (0, 65534));
        assert_eq!(mode(&p), 0o2750);

        // preserve_owner(false): the writer owns the result.
        chown(&p, 65534, 65534);
        opts(named).preserve_owner(false).write_bytes(&p, b"mine").unwrap();
        assert_eq!(owner(&p), (0, 0));
        assert_only(d.path(), &["f"]);
    }

    /// An unprivileged writer may not give the file away: the owner is skipped
    /// quietly, the write succeeds (CLI run as uid 65534).
    #[ignore = "needs root, setpriv"]
    fn unprivileged_owner_skipped_cli(named: bool) {
        require_root();
        require("setpriv");
        let (_t, d) = scratch_for_nobody(0o777);
        let p = d.join("root-owned");
        std::fs::write(&p, b"old").unwrap();
        chmod(&p, 0o644);
        chown(&p, 0, 0);
        let mut c = as_nobody(bin());
        if named {
            c.env("ATOMIC_WRITE_NO_TMPFILE", "1");
        }
        // `-f`: root's 0644 file is not nobody's to write (issue 19, item 5).
        let out = cli_input(c.arg("-f").arg(&p), b"by nobody");
        assert!(
            out.status.success(),
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read(&p), b"by nobody");
        assert_eq!(owner(&p), (65534, 65534));
        assert_eq!(mode(&p), 0o644);
        assert_only(&d, &["root-owned"]);
    }

    /// The same through the library, in a child process running as 65534.
    #[ignore = "needs root, setpriv"]
    fn unprivileged_owner_skipped_lib(named: bool) {
        require_root();
        require("setpriv");
        let (_t, d) = scratch_for_nobody(0o777);
        let p = d.join("root-owned");
        std::fs::write(&p, b"old").unwrap();
        chown(&p, 0, 0);
        chmod(&p, 0o4755); // after chown, which clears setuid
        let mut c = as_nobody(std::env::current_exe().unwrap());
        c.args(["metadata::write_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env("AW_CHILD", "1")
            .env("AW_PATH", &p)
            .env("AW_DATA", "lib as nobody")
            .env("AW_NAMED", if named { "1" } else { "0" });
        let out = run(&mut c);
        assert_child_ok(&out);
        assert_eq!(read(&p), b"lib as nobody");
        assert_eq!(owner(&p), (65534, 65534));
        // The other bits are kept; setuid is dropped because the owner could
        // not be kept (as `cp -p` does): a setuid file owned by the writer
        // would let anyone run it as the writer.
        assert_eq!(mode(&p), 0o755);
        assert_only(&d, &["root-owned"]);
    }
}

/// Child half: writes `AW_DATA` to `AW_PATH` with the library (named temp if
/// `AW_NAMED=1`), checks the umask is `AW_UMASK` if given, prints `CHILD_OK`.
#[test]
#[ignore = "child process of other tests"]
fn write_child() {
    if !is_child() {
        return;
    }
    let path = std::env::var_os("AW_PATH").unwrap();
    let data = std::env::var("AW_DATA").unwrap();
    let named = std::env::var("AW_NAMED").is_ok_and(|v| v == "1");
    if let Ok(u) = std::env::var("AW_UMASK") {
        assert_eq!(current_umask(), u32::from_str_radix(&u, 8).unwrap());
    }
    // `force`: the parents give it another user's file to replace.
    opts(named)
        .force(true)
        .write_text(Path::new(&path), &data)
        .unwrap();
    println!("{CHILD_OK}");
}

/// A new file gets 0o666 & !umask for umasks 022, 027 and 077: the library
/// in a re-executed test binary and the CLI, each under `sh -c 'umask U; exec ..'`
/// (the umask is process-wide, so never changed in this process).
#[test]
fn new_file_umasks_in_child() {
    for named in [false, true] {
        for (umask, want) in [
            ("022", 0o644),
            ("027", 0o640),
            ("077", 0o600),
            ("000", 0o666),
        ] {
            let d = scratch();
            let lib = d.path().join("lib");
            let exe = std::env::current_exe().unwrap();
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
                .arg(exe)
                .args([
                    "metadata::write_child",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("AW_CHILD", "1")
                .env("AW_PATH", &lib)
                .env("AW_DATA", "lib")
                .env("AW_UMASK", umask)
                .env("AW_NAMED", if named { "1" } else { "0" });
            assert_child_ok(&run(&mut c));
            assert_eq!(mode(&lib), want, "library, umask {umask}, named {named}");

            let clip = d.path().join("cli");
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
                .arg(bin())
                .arg(&clip);
            if named {
                c.env("ATOMIC_WRITE_NO_TMPFILE", "1");
            }
            let out = cli_input(&mut c, b"cli");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(mode(&clip), want, "CLI, umask {umask}, named {named}");
            assert_eq!(read(&clip), b"cli");

            // An existing file keeps its mode whatever the umask.
            chmod(&clip, 0o666);
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
                .arg(bin())
                .arg(&clip);
            assert!(cli_input(&mut c, b"again").status.success());
            assert_eq!(mode(&clip), 0o666, "CLI kept mode, umask {umask}");
            assert_only(d.path(), &["cli", "lib"]);
        }
    }
}

/// `--mode` on the CLI is exact too, umask 077 notwithstanding.
#[test]
fn cli_mode_ignores_umask() {
    let d = scratch();
    let p = d.path().join("s");
    let out = cli_input(
        Command::new("sh")
            .arg("-c")
            .arg("umask 077; exec \"$0\" \"$@\"")
            .arg(bin())
            .args(["--mode", "4755"])
            .arg(&p),
        b"#!/bin/sh\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&p), 0o4755);
}
