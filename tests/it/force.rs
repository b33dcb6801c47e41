//! A target the caller may not write is refused, as a shell's `>` refuses it
//! (issue 19, item 5), unless `-f/--force` (`Options::force`). Run as the
//! unprivileged user 65534 in a directory of its own, each case side by side
//! with `sh -c 'echo new > f'` as the same user, on a twin of the target:
//! refused exactly when `>` is refused.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

const NOBODY: u32 = 65534;

/// A directory owned by (and only writable by) user 65534.
fn nobodys_dir() -> (tempfile::TempDir, PathBuf) {
    let (t, d) = scratch_for_nobody(0o755);
    chown(&d, NOBODY, NOBODY);
    (t, d)
}

/// A file `name` in `d` with content "old", owner and mode given.
fn file(d: &Path, name: &str, uid: u32, gid: u32, mode: u32) -> PathBuf {
    let p = d.join(name);
    fs::write(&p, b"old\n").unwrap();
    chown(&p, uid, gid);
    chmod(&p, mode);
    p
}

/// `echo new > p` as user 65534: whether the shell could open it.
fn shell_writes(p: &Path) -> bool {
    let out = run(as_nobody("sh")
        .args(["-c", "echo new > \"$1\"", "sh"])
        .arg(p));
    out.status.success()
}

/// The CLI as user 65534 with "new\n" on stdin and `args` before the path.
fn aw_as_nobody(args: &[&str], p: &Path) -> Output {
    cli_input(as_nobody(bin()).args(args).arg(p), b"new\n")
}

/// Asserts the CLI refused `p` as `>` would: exit 1, one line naming the
/// refusal and the kernel's answer, the target as it was, no temp left.
#[track_caller]
fn assert_refused(out: &Output, p: &Path, errno_text: &str) {
    let line = assert_io_failure(out, p);
    assert!(
        line.contains("refusing to replace") && line.contains(errno_text),
        "{line}"
    );
    assert_eq!(read(p), b"old\n", "the refused target was changed");
    assert!(temps(p.parent().unwrap()).is_empty(), "a temp was left");
}

/// One case: a twin for `>` and one for the CLI, made by `make`; the CLI
/// (with `args`) refuses exactly when `>` does; returns whether it did.
#[track_caller]
fn side_by_side(d: &Path, case: &str, args: &[&str], make: impl Fn(&str) -> PathBuf) -> bool {
    let with_shell = make(&format!("{case}-sh"));
    let with_aw = make(&format!("{case}-aw"));
    let shell_ok = shell_writes(&with_shell);
    let out = aw_as_nobody(args, &with_aw);
    if shell_ok {
        assert!(
            out.status.success(),
            "{case}: `>` may write, atomic-write {args:?} refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want: &[u8] = if args.contains(&"-a") {
            b"old\nnew\n"
        } else {
            b"new\n"
        };
        assert_eq!(read(&with_aw), want, "{case}");
    } else {
        assert_refused(&out, &with_aw, "Permission denied (os error 13)");
    }
    let _ = d;
    !shell_ok
}

/// Owner, mode, group and ACL, each side by side with `>`: refused exactly
/// where `>` is (other's 0444 and 0644, one's own 0444, an ACL mask without
/// `w`), allowed where it may write (one's own, group-writable, world-writable,
/// an ACL entry granting `w` to the user); a symlink is judged by its final
/// target. The same for `-a`, `--backup` (no backup made) and `--if-changed`
/// (identical content too: `>` would be refused).
#[test]
#[ignore = "needs root, setpriv, setfacl"]
fn refused_as_the_shell_refuses() {
    require_root();
    require("setpriv");
    require("setfacl");
    let (_t, d) = nobodys_dir();
    type Make = Box<dyn Fn(&Path, &str) -> PathBuf>;
    let cases: Vec<(&str, bool, Make)> = vec![
        ("roots-0444", true, Box::new(|d, n| file(d, n, 0, 0, 0o444))),
        ("roots-0644", true, Box::new(|d, n| file(d, n, 0, 0, 0o644))),
        (
            "own-0444",
            true,
            Box::new(|d, n| file(d, n, NOBODY, NOBODY, 0o444)),
        ),
        (
            "own-0644",
            false,
            Box::new(|d, n| file(d, n, NOBODY, NOBODY, 0o644)),
        ),
        (
            "group-0664",
            false,
            Box::new(|d, n| file(d, n, 0, NOBODY, 0o664)),
        ),
        (
            "world-0666",
            false,
            Box::new(|d, n| file(d, n, 0, 0, 0o666)),
        ),
        (
            "acl-grants",
            false,
            Box::new(|d, n| {
                let p = file(d, n, 0, 0, 0o644);
                sh(&format!("setfacl -m u:{NOBODY}:rw {}", shell_quote(&p)));
                p
            }),
        ),
        (
            "acl-mask-denies",
            true,
            Box::new(|d, n| {
                let p = file(d, n, 0, NOBODY, 0o664);
                sh(&format!("setfacl -m m::r {}", shell_quote(&p)));
                p
            }),
        ),
        (
            "link-to-roots-0444",
            true,
            Box::new(|d, n| {
                file(d, &format!("{n}.real"), 0, 0, 0o444);
                let l = d.join(n);
                symlink(format!("{n}.real"), &l).unwrap();
                l
            }),
        ),
        (
            "link-to-world-0666",
            false,
            Box::new(|d, n| {
                file(d, &format!("{n}.real"), 0, 0, 0o666);
                let l = d.join(n);
                symlink(format!("{n}.real"), &l).unwrap();
                l
            }),
        ),
    ];
    for args in [&[][..], &["-a"], &["--backup"], &["--if-changed"]] {
        for (case, refused, make) in &cases {
            let case = format!("{case}{}", args.join(""));
            let was = side_by_side(&d, &case, args, |n| make(&d, n));
            assert_eq!(
                was, *refused,
                "{case}: `>` and atomic-write disagree with the expectation"
            );
            if *refused && args == ["--backup"] {
                assert!(
                    !d.join(format!("{case}-aw~")).exists(),
                    "{case}: backup made"
                );
            }
        }
    }
    // A new file is not checked: the directory decides.
    let out = aw_as_nobody(&[], &d.join("new"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `-f`/`--force` replaces what `>` may not write (as `mv -f` would):
/// another user's read-only file becomes the writer's, with its mode kept.
#[test]
#[ignore = "needs root, setpriv"]
fn force_replaces() {
    require_root();
    require("setpriv");
    let (_t, d) = nobodys_dir();
    for flag in ["-f", "--force"] {
        let p = file(&d, &format!("f{flag}"), 0, 0, 0o444);
        let out = aw_as_nobody(&[flag], &p);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(read(&p), b"new\n");
        assert_eq!(mode(&p), 0o444);
        assert_eq!(owner(&p), (NOBODY, NOBODY));
    }
    assert!(temps(&d).is_empty());
}

/// `--no-follow` replaces a symlink itself, which has no write permission
/// of its own (`mv` replaces it too): root's link to root's read-only file,
/// in user 65534's directory, is replaced without `-f`, the file it pointed
/// to untouched; followed, the same link is refused, as `>` refuses it.
#[test]
#[ignore = "needs root, setpriv"]
fn a_link_replaced_itself_is_not_asked_about() {
    require_root();
    require("setpriv");
    let (_t, d) = nobodys_dir();
    let target = file(&d, "protected", 0, 0, 0o444);
    let link = d.join("link");
    std::os::unix::fs::symlink("protected", &link).unwrap();
    sh(&format!("chown -h 0:0 {}", shell_quote(&link)));
    assert!(!shell_writes(&link), "`>` wrote through the link");
    let line = assert_io_failure(&aw_as_nobody(&[], &link), &link);
    assert!(line.contains("refusing to replace"), "{line}");
    assert_eq!(read(&target), b"old\n");
    let out = aw_as_nobody(&["--no-follow"], &link);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read(&link), b"new\n");
    assert_eq!(read(&target), b"old\n");
    assert!(temps(&d).is_empty());
}

/// The library: `PermissionDenied` (`EACCES`) from `create()`, nothing
/// created; `Options::force(true)` replaces it (child process as uid 65534).
#[test]
#[ignore = "needs root, setpriv"]
fn library_refuses_unless_forced() {
    require_root();
    require("setpriv");
    let (_t, d) = nobodys_dir();
    let p = file(&d, "f", 0, 0, 0o444);
    for named in [false, true] {
        let mut c = as_nobody(std::env::current_exe().unwrap());
        c.args([
            "force::library_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("AW_CHILD", "1")
        .env("AW_PATH", &p)
        .env("AW_NAMED", if named { "1" } else { "0" });
        let out = run(&mut c);
        assert_child_ok(&out);
        fs::write(&p, b"old\n").unwrap();
        chown(&p, 0, 0);
        chmod(&p, 0o444);
    }
}

/// Child half of `library_refuses_unless_forced`.
#[test]
#[ignore = "child process of other tests"]
fn library_child() {
    if !is_child() {
        return;
    }
    let p = PathBuf::from(std::env::var_os("AW_PATH").unwrap());
    let named = std::env::var("AW_NAMED").is_ok_and(|v| v == "1");
    let err = opts(named).write_bytes(&p, b"new\n").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    assert_eq!(atomic_write::os_error(&err), Some(libc::EACCES), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("refusing to replace {p:?}")),
        "{err}"
    );
    assert_eq!(read(&p), b"old\n");
    assert!(temps(p.parent().unwrap()).is_empty());
    let err = opts(named).append(true).create(&p).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    let err = opts(named).backup("~").create(&p).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    opts(named).force(true).write_bytes(&p, b"new\n").unwrap();
    assert_eq!(read(&p), b"new\n");
    assert!(temps(p.parent().unwrap()).is_empty());
    println!("{CHILD_OK}");
}

/// Root may write any file, as with `>`: a 0444 file of another user is
/// replaced without `-f`. An immutable file (`chattr +i`) is refused by `>`
/// and by the rename alike (`EPERM`), target untouched, no temp, `-f` or not.
#[test]
#[ignore = "needs root, chattr (ext4 or another filesystem with the flag)"]
fn root_and_immutable() {
    require_root();
    require("chattr");
    let d = scratch();
    let p = file(d.path(), "f", NOBODY, NOBODY, 0o444);
    let out = cli_input(Command::new(bin()).arg(&p), b"new\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&p), b"new\n");

    let i = file(d.path(), "immutable", 0, 0, 0o644);
    let i_sh = file(d.path(), "immutable-sh", 0, 0, 0o644);
    sh(&format!(
        "chattr +i {} {}",
        shell_quote(&i),
        shell_quote(&i_sh)
    ));
    // The flag off again however this test ends, so the scratch directory
    // can be removed.
    struct Mutable(String);
    impl Drop for Mutable {
        fn drop(&mut self) {
            let _ = Command::new("sh")
                .args(["-c", &format!("chattr -i {}", self.0)])
                .status();
        }
    }
    let _mutable = Mutable(format!("{} {}", shell_quote(&i), shell_quote(&i_sh)));
    let shell = run(Command::new("sh")
        .args(["-c", "echo new > \"$1\"", "sh"])
        .arg(&i_sh));
    for args in [&[][..], &["-f"]] {
        let out = cli_input(Command::new(bin()).args(args).arg(&i), b"new\n");
        let line = assert_io_failure(&out, &i);
        assert!(
            line.contains("Operation not permitted (os error 1)"),
            "{line}"
        );
        assert_eq!(read(&i), b"old\n");
    }
    assert!(!shell.status.success(), "`>` wrote an immutable file");
    assert!(temps(d.path()).is_empty());
}

/// What the check costs: no syscall for one's own `u+w` file, nor for root
/// (another user's 0444 file); one `faccessat2` where the mode does not tell
/// (user 65534 replacing root's world-writable file).
#[test]
#[ignore = "needs root, setpriv, strace"]
fn no_syscall_in_the_common_case() {
    require_root();
    require("setpriv");
    require("strace");
    let (_t, d) = nobodys_dir();
    let count = |p: &Path, nobody: bool| {
        let mut c = Command::new("strace");
        c.args(["-f", "-qq", "-e", "trace=faccessat,faccessat2", "--"]);
        if nobody {
            c.args([
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
            ]);
        }
        let out = cli_input(c.arg(bin()).arg(p), b"new\n");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("faccessat"))
            .count()
    };
    let own = file(&d, "own", 0, 0, 0o644);
    assert_eq!(count(&own, false), 0, "root, its own file");
    let others = file(&d, "others", NOBODY, NOBODY, 0o444);
    assert_eq!(count(&others, false), 0, "root, another user's file");
    let own = file(&d, "nobodys", NOBODY, NOBODY, 0o644);
    assert_eq!(count(&own, true), 0, "65534, its own file");
    let world = file(&d, "world", 0, 0, 0o666);
    assert_eq!(count(&world, true), 1, "65534, root's 0666 file");
}

/// Where `faccessat2` is missing (`ENOSYS`, before Linux 5.8) or a
/// container's seccomp profile answers it with `EPERM` (old Docker), the old
/// `faccessat` decides: what user 65534 may write is written (plain, and
/// `-a`, which asks about its open descriptor through `/proc/self/fd`), and
/// what it may not is still refused.
#[test]
#[ignore = "needs root, setpriv"]
fn without_faccessat2() {
    use crate::common::seccomp::{deny, Deny};
    require_root();
    require("setpriv");
    let (_t, d) = nobodys_dir();
    for errno in [libc::EPERM, libc::ENOSYS] {
        let under = |args: &[&str], p: &Path| {
            let mut c = as_nobody(bin());
            deny(&mut c, &[Deny::call(libc::SYS_faccessat2, errno)]);
            cli_input(c.args(args).arg(p), b"new\n")
        };
        let world = file(&d, &format!("world-{errno}"), 0, 0, 0o666);
        let out = under(&[], &world);
        assert!(
            out.status.success(),
            "errno {errno}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = under(&["-a"], &world);
        assert!(
            out.status.success(),
            "errno {errno}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(read(&world), b"new\nnew\n");
        for args in [&[][..], &["-a"]] {
            let ro = file(&d, &format!("ro-{errno}{}", args.join("")), 0, 0, 0o444);
            assert_refused(&under(args, &ro), &ro, "Permission denied (os error 13)");
        }
    }
}
