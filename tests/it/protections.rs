//! Never weaker than `>`: the kernel's link protections (`fs.protected_symlinks`,
//! `fs.protected_regular`) apply to the links the crate follows itself and to
//! the files it replaces in shared directories; `no_clobber` treats a
//! symlink at the path as an existing target; and writes work wherever `>`
//! works (a deep or unsearchable working directory, a `0300` directory, a
//! user namespace, no `/proc` on an old kernel).
//!
//! The sysctl tests need root (they toggle `/proc/sys/fs/protected_*` and
//! restore them after) and run in the full suite (`ATOMIC_WRITE_FULL_SUITE=1`).

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use crate::common::*;

/// The sysctls are global: one test at a time touches them.
static SYSCTL: Mutex<()> = Mutex::new(());

/// Sets `/proc/sys/fs/NAME` to `value`; the guard puts the old value back.
fn sysctl(name: &str, value: &str) -> impl Drop {
    let path = format!("/proc/sys/fs/{name}");
    let old = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    fs::write(&path, value).unwrap_or_else(|e| panic!("write {path}: {e}"));
    scopeguard::guard((path, old), |(path, old)| {
        fs::write(&path, old.trim()).unwrap_or_else(|e| panic!("restore {path}: {e}"));
    })
}

/// The root-only tests' prerequisites: root and `setpriv`.
fn privileged() {
    require_root();
    require("setpriv");
}

/// A scratch dir with a sticky, world-writable `tmp` (owned by root, as
/// `/tmp`) and a root-only `secret` file beside it.
fn shared_tmp() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let d = scratch();
    chmod(d.path(), 0o755);
    let tmp = d.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    chmod(&tmp, 0o1777);
    let secret = d.path().join("secret");
    fs::write(&secret, b"root only\n").unwrap();
    chmod(&secret, 0o600);
    (d, tmp, secret)
}

/// `ln -s TO LINK` as the unprivileged user 65534.
fn plant_link(to: &Path, link: &Path) {
    let out = run(as_nobody("ln").arg("-s").arg(to).arg(link));
    assert!(out.status.success(), "ln -s as nobody: {out:?}");
}

/// A link another user planted in a sticky world-writable directory is not
/// followed while `fs.protected_symlinks` is on — as `>` refuses it — and is
/// followed when it is off. The error names the link and the reason.
#[test]
#[ignore = "full suite: root, setpriv"]
fn protected_symlinks_planted_link_refused() {
    privileged();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let (_d, tmp, secret) = shared_tmp();
    let link = tmp.join("x");
    plant_link(&secret, &link);

    let _on = sysctl("protected_symlinks", "1");
    // The shell's `>` is refused: the rule we copy.
    let shell = run(std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("echo data > {}", shell_quote(&link))));
    assert!(!shell.status.success(), "`>` followed the planted link");

    let err = atomic_write::write_bytes(&link, b"planted\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("protected_symlinks") && msg.contains(&format!("{link:?}")),
        "{msg}"
    );
    assert_eq!(read(&secret), b"root only\n");
    assert_eq!(mode(&secret), 0o600);
    assert_only(&tmp, &["x"]);
    // The CLI says the same, exit 1.
    let out = cli_input(cli(false).arg(&link), b"planted\n");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(read(&secret), b"root only\n");

    // Append and no-follow-less variants too: the link is never followed.
    let err = atomic_write::Options::new()
        .append(true)
        .write_bytes(&link, b"more\n")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");

    // Off: followed, as `>` would.
    let _off = sysctl("protected_symlinks", "0");
    atomic_write::write_bytes(&link, b"followed\n").unwrap();
    assert_eq!(read(&secret), b"followed\n");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

/// A planted dangling link does not create the file it names (`-n` neither).
#[test]
#[ignore = "full suite: root, setpriv"]
fn protected_symlinks_dangling_link_refused() {
    privileged();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let (d, tmp, _secret) = shared_tmp();
    let victim = d.path().join("created-by-root");
    let link = tmp.join("dangling");
    plant_link(&victim, &link);
    let _on = sysctl("protected_symlinks", "1");
    for no_clobber in [false, true] {
        let err = atomic_write::Options::new()
            .no_clobber(no_clobber)
            .write_bytes(&link, b"x")
            .unwrap_err();
        let want = if no_clobber {
            ErrorKind::AlreadyExists
        } else {
            ErrorKind::PermissionDenied
        };
        assert_eq!(err.kind(), want, "no_clobber={no_clobber}: {err}");
        assert!(
            !victim.exists(),
            "no_clobber={no_clobber}: created {victim:?}"
        );
    }
    assert_only(&tmp, &["dangling"]);
}

/// Links the caller or the directory's owner owns are still followed, and a
/// sticky directory that is not world-writable is not "shared".
#[test]
#[ignore = "full suite: root, setpriv"]
fn protected_symlinks_trusted_links_followed() {
    privileged();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let (_d, tmp, secret) = shared_tmp();
    let _on = sysctl("protected_symlinks", "1");
    // The caller's own link.
    let mine = tmp.join("mine");
    symlink(&secret, &mine).unwrap();
    atomic_write::write_bytes(&mine, b"1\n").unwrap();
    assert_eq!(read(&secret), b"1\n");
    // The directory owner's link (directory and link owned by 65534).
    chown(&tmp, 65534, 65534);
    let theirs = tmp.join("owners");
    plant_link(&secret, &theirs);
    atomic_write::write_bytes(&theirs, b"2\n").unwrap();
    assert_eq!(read(&secret), b"2\n");
    // Sticky but not world-writable.
    chown(&tmp, 0, 0);
    let other = tmp.join("other");
    plant_link(&secret, &other);
    chmod(&tmp, 0o1775);
    atomic_write::write_bytes(&other, b"3\n").unwrap();
    assert_eq!(read(&secret), b"3\n");
}

/// An existing regular file that another user planted in a sticky
/// world-writable directory is not replaced while `fs.protected_regular` is
/// on (`>` refuses to open it); in a group-writable sticky directory only at
/// setting 2. The caller's own files are replaced as always.
#[test]
#[ignore = "full suite: root, setpriv"]
fn protected_regular_planted_file_refused() {
    privileged();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let (_d, tmp, _secret) = shared_tmp();
    let planted = tmp.join("planted");
    fs::write(&planted, b"planted\n").unwrap();
    chown(&planted, 65534, 65534);
    chmod(&planted, 0o666);

    let _on = sysctl("protected_regular", "1");
    let shell = run(std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("echo data > {}", shell_quote(&planted))));
    assert!(!shell.status.success(), "`>` opened the planted file");
    for named in [false, true] {
        let err = opts(named)
            .write_bytes(&planted, b"root's data\n")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("protected_regular"), "{err}");
        assert_eq!(read(&planted), b"planted\n");
        assert_eq!(owner(&planted), (65534, 65534));
        assert_only(&tmp, &["planted"]);
    }

    // Group-writable sticky directory: refused at 2 only.
    chmod(&tmp, 0o1770);
    atomic_write::write_bytes(&planted, b"at 1\n").unwrap();
    assert_eq!(read(&planted), b"at 1\n");
    let _two = sysctl("protected_regular", "2");
    let err = atomic_write::write_bytes(&planted, b"at 2\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(read(&planted), b"at 1\n");

    // The caller's own file, or protection off: replaced.
    chmod(&tmp, 0o1777);
    let mine = tmp.join("mine");
    fs::write(&mine, b"old").unwrap();
    atomic_write::write_bytes(&mine, b"new").unwrap();
    assert_eq!(read(&mine), b"new");
    let _off = sysctl("protected_regular", "0");
    atomic_write::write_bytes(&planted, b"off\n").unwrap();
    assert_eq!(read(&planted), b"off\n");
}

/// A caller who is neither root nor the shared directory's owner (uid 65534
/// in a root-owned sticky `1777` directory, both protections on) replaces
/// its own file and follows its own link, as its `>` does: the rules spare
/// what the caller owns (its effective uid), not only what the directory's
/// owner owns.
#[test]
#[ignore = "full suite: root, setpriv"]
fn protections_spare_a_non_root_callers_own_files() {
    privileged();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let (_d, tmp, _secret) = shared_tmp();
    let _regular = sysctl("protected_regular", "1");
    let _symlinks = sysctl("protected_symlinks", "1");
    let file = tmp.join("file");
    fs::write(&file, b"old\n").unwrap();
    chown(&file, 65534, 65534);
    let link = tmp.join("link");
    plant_link(&file, &link);

    // The shell's `>` as 65534: both allowed.
    for p in [&file, &link] {
        let shell = run(as_nobody("sh")
            .arg("-c")
            .arg(format!("echo shell > {}", shell_quote(p))));
        assert!(shell.status.success(), "`>` on {p:?}: {shell:?}");
    }
    for (p, data) in [(&file, &b"own file\n"[..]), (&link, b"own link\n")] {
        let out = cli_input(as_nobody(bin()).arg(p), data);
        assert!(
            out.status.success(),
            "{p:?} as 65534: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(read(&file), data, "{p:?}");
    }
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(owner(&file), (65534, 65534));
    assert_only(&tmp, &["file", "link"]);
}

/// With `no_clobber`, a symlink at the path counts as existing, dangling or
/// not (`O_CREAT|O_EXCL`, bash's `noclobber`): nothing is created behind it.
#[test]
fn no_clobber_symlink_exists() {
    let d = scratch();
    let dangling = d.path().join("dangling");
    symlink("nowhere", &dangling).unwrap();
    let err = atomic_write::Options::new()
        .no_clobber(true)
        .write_bytes(&dangling, b"x")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_only(d.path(), &["dangling"]);

    let out = cli_input(cli(false).arg("-n").arg(&dangling), b"x");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_only(d.path(), &["dangling"]);
}

/// A working directory deeper than `PATH_MAX`: a relative target is opened
/// relative to it, as `>` does, not through a rebuilt absolute path
/// (`ENAMETOOLONG`).
#[test]
fn cwd_deeper_than_path_max() {
    let d = scratch();
    let long = "d".repeat(250);
    let script = format!(
        "cd {} && for i in $(seq 20); do mkdir {long} && cd {long} || exit 9; done && \
         printf old > f && printf new | {} f && cat f && printf again | {} -a f && cat f",
        shell_quote(d.path()),
        shell_quote(Path::new(bin())),
        shell_quote(Path::new(bin())),
    );
    // bash, not dash: dash's `cd` fails once the logical path passes PATH_MAX.
    let out = run(Command::new("bash").arg("-c").arg(&script));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"newnewagain");
}

/// A working directory below a directory the caller can't search: `>` works
/// there (the cwd is already open), so do we.
#[test]
#[ignore = "full suite: root, setpriv"]
fn cwd_below_unsearchable_dir() {
    privileged();
    let d = scratch();
    chmod(d.path(), 0o700); // root-only: nobody can't search it
    let inner = d.path().join("inner");
    fs::create_dir(&inner).unwrap();
    chown(&inner, 65534, 65534);
    let out = cli_input(
        Command::new("sh").arg("-c").arg(format!(
            "cd {} && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- {} out",
            shell_quote(&inner),
            shell_quote(Path::new(bin()))
        )),
        b"data\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(read(&inner.join("out")), b"data\n");
    assert_only(&inner, &["out"]);
}

/// A directory with write and search but no read permission (`0300`): `>`
/// works there. The directory is reached through an `O_PATH` descriptor and
/// the rename made durable by `syncfs` (ext4 here); `--no-sync` works too.
#[test]
#[ignore = "full suite: root, setpriv"]
fn write_search_only_dir() {
    privileged();
    let (_t, d) = scratch_for_nobody(0o755);
    chown(&d, 65534, 65534);
    chmod(&d, 0o300);
    let f = d.join("f");
    for (args, data) in [
        (&[][..], &b"one\n"[..]),
        (&["--no-sync"][..], b"two\n"),
        (&["-a"][..], b"three\n"),
    ] {
        for named in [false, true] {
            let mut c = as_nobody(bin());
            if named {
                c.env("ATOMIC_WRITE_NO_TMPFILE", "1");
            }
            let out = cli_input(c.args(args).arg(&f), data);
            assert!(out.status.success(), "{args:?} named={named}: {out:?}");
        }
    }
    assert_eq!(read(&f), b"two\nthree\nthree\n");
    chmod(&d, 0o755);
    assert_only(&d, &["f"]);
}

/// A `0300` directory on a filesystem whose `syncfs` is not trusted (ext2,
/// which flushes no drive cache): the rename can't be made durable, so the
/// write fails before it, saying why, and leaves nothing; with `--no-sync` it
/// works.
#[test]
#[ignore = "full suite: root, mkfs.ext2, setpriv"]
fn write_search_only_dir_untrusted_fs() {
    privileged();
    require("mkfs.ext2");
    let d = scratch();
    chmod(d.path(), 0o755);
    let img = d.path().join("img");
    sh(&format!(
        "truncate -s 8M {0} && mkfs.ext2 -q -F {0}",
        shell_quote(&img)
    ));
    let mnt = d.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    sh(&format!(
        "mount -t ext2 -o loop {} {}",
        shell_quote(&img),
        shell_quote(&mnt)
    ));
    let _unmount = scopeguard::guard(mnt.clone(), |m| unmount(&m));
    let w = mnt.join("w");
    fs::create_dir(&w).unwrap();
    chown(&w, 65534, 65534);
    chmod(&w, 0o300);
    let f = w.join("f");
    let out = cli_input(as_nobody(bin()).arg(&f), b"x");
    let line = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        line.contains("durable") && line.contains("can't be read"),
        "{line}"
    );
    assert!(!f.exists());
    let out = cli_input(as_nobody(bin()).arg("--no-sync").arg(&f), b"y");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(read(&f), b"y");
    chmod(&w, 0o755);
    assert_only(&w, &["f"]);
}

/// In a user namespace (`unshare -r`) an existing target's owner is often
/// unmapped and `fchown` fails with `EINVAL`: like `EPERM`, the owner can't
/// be kept and the write goes on.
#[test]
#[ignore = "full suite: root, unshare, setpriv"]
fn user_namespace_unmapped_owner() {
    privileged();
    require("unshare");
    let d = scratch();
    let f = d.path().join("f");
    fs::write(&f, b"old").unwrap();
    chown(&f, 1234, 1234);
    chmod(&f, 0o644);
    for named in [false, true] {
        let mut c = Command::new("unshare");
        c.arg("-r").arg(bin()).arg(&f);
        if named {
            c.env("ATOMIC_WRITE_NO_TMPFILE", "1");
        }
        let out = cli_input(&mut c, b"new");
        assert!(out.status.success(), "named={named}: {out:?}");
        assert_eq!(read(&f), b"new");
        assert_eq!(mode(&f), 0o644);
        chown(&f, 1234, 1234);
    }
    assert_only(d.path(), &["f"]);
}

/// Where an unnamed temp could not be named at commit — no
/// `linkat(AT_EMPTY_PATH)` (an unprivileged writer on a kernel before 6.10:
/// here `uname` fails and `linkat` is refused, by strace) and no
/// `/proc/self/fd` (a tmpfs over `/proc`) — the commit copies the data into
/// a named temp instead of failing after all the data was written (and the
/// process's later temps are named from the start).
#[test]
#[ignore = "full suite: root, strace, unshare, setpriv"]
fn no_flink_no_proc_uses_named_temp() {
    privileged();
    require("strace");
    require("unshare");
    let (_t, d) = scratch_for_nobody(0o777);
    let f = d.join("f");
    let script = format!(
        "mount -t tmpfs none /proc && exec strace -f -qq -o /dev/null \
         -e inject=uname:error=ENOSYS -e inject=linkat:error=EPERM:when=1 \
         setpriv --reuid=65534 --regid=65534 --clear-groups -- {} {}",
        shell_quote(Path::new(bin())),
        shell_quote(&f)
    );
    let out = cli_input(
        Command::new("unshare").args(["-m", "sh", "-c", &script]),
        b"data",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(read(&f), b"data");
    assert_only(&d, &["f"]);
}
