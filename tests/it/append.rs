//! `append(true)`: the temp starts as a copy of the current content with the
//! cursor at its end; the mode (and owner) are kept; a missing target starts
//! empty; the target is untouched until commit.

use std::fs;
use std::io::{Seek, SeekFrom, Write};

use crate::common::*;

both_paths! {
    /// Old content + new bytes, mode kept, nothing visible before commit.
    fn old_plus_new(named: bool) {
        let d = scratch();
        let p = d.path().join("log");
        fs::write(&p, b"line 1\n").unwrap();
        chmod(&p, 0o640);
        let mut f = opts(named).append(true).create(&p).unwrap();
        assert_eq!(f.stream_position().unwrap(), 7, "cursor not at the end");
        f.write_all(b"line 2\n").unwrap();
        assert_eq!(read(&p), b"line 1\n", "target changed before commit");
        assert_mid_write(d.path(), &[b"log"], b"log", named);
        f.commit().unwrap();
        assert_eq!(read(&p), b"line 1\nline 2\n");
        assert_eq!(mode(&p), 0o640);
        assert_only(d.path(), &["log"]);
    }

    /// setuid/setgid modes and the one-shot form.
    fn mode_kept_oneshot(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"abc").unwrap();
        chmod(&p, 0o4750);
        opts(named).append(true).write_bytes(&p, b"def").unwrap();
        assert_eq!(read(&p), b"abcdef");
        assert_eq!(mode(&p), 0o4750);
        opts(named).append(true).mode(0o600).write_text(&p, "g").unwrap();
        assert_eq!(read(&p), b"abcdefg");
        assert_eq!(mode(&p), 0o600);
        assert_only(d.path(), &["f"]);
    }

    /// A large file (several MiB, binary) is copied whole.
    fn large_binary(named: bool) {
        let d = scratch();
        let p = d.path().join("big");
        let old: Vec<u8> = (0..(5 << 20) + 3u32).map(|i| (i * 7 + i / 4096) as u8).collect();
        fs::write(&p, &old).unwrap();
        opts(named).append(true).write_bytes(&p, b"\0tail\0").unwrap();
        let got = read(&p);
        assert_eq!(got.len(), old.len() + 6);
        assert!(got[..old.len()] == old[..], "old content not copied exactly");
        assert_eq!(&got[old.len()..], b"\0tail\0");
    }

    /// A missing target starts empty.
    fn missing_starts_empty(named: bool) {
        let d = scratch();
        let p = d.path().join("new");
        let mut f = opts(named).append(true).create(&p).unwrap();
        assert_eq!(f.stream_position().unwrap(), 0);
        f.write_all(b"only this").unwrap();
        f.commit().unwrap();
        assert_eq!(read(&p), b"only this");
        assert_eq!(mode(&p), 0o666 & !current_umask());
        assert_only(d.path(), &["new"]);
    }

    /// Dropping an append leaves the target as it was.
    fn drop_untouched(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"keep").unwrap();
        let mut f = opts(named).append(true).create(&p).unwrap();
        f.write_all(b" more").unwrap();
        drop(f);
        assert_eq!(read(&p), b"keep");
        assert_only(d.path(), &["f"]);
    }

    /// Appending through a symlink appends to the file behind it.
    fn through_symlink(named: bool) {
        let d = scratch();
        fs::write(d.path().join("real"), b"a").unwrap();
        std::os::unix::fs::symlink("real", d.path().join("link")).unwrap();
        opts(named).append(true).write_bytes(d.path().join("link"), b"b").unwrap();
        assert_eq!(read(&d.path().join("real")), b"ab");
        assert!(fs::symlink_metadata(d.path().join("link")).unwrap().file_type().is_symlink());
    }

    /// The copied content can be rewritten: seek back and overwrite.
    fn seek_into_copy(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"hello world").unwrap();
        let mut f = opts(named).append(true).create(&p).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(b"HELLO").unwrap();
        f.commit().unwrap();
        assert_eq!(read(&p), b"HELLO world");
    }

    /// Root appending to a file owned by 65534 keeps the owner.
    #[ignore = "needs root"]
    fn owner_kept(named: bool) {
        require_root();
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"x").unwrap();
        chown(&p, 65534, 65534);
        opts(named).append(true).write_bytes(&p, b"y").unwrap();
        assert_eq!(owner(&p), (65534, 65534));
        assert_eq!(read(&p), b"xy");
    }
}

/// Append on a tmpfs, which has no reflinks: the `FICLONE` attempt fails and
/// the kernel copy path is taken.
#[test]
#[ignore = "needs root"]
fn append_on_tmpfs() {
    require_root();
    let m = Mount::tmpfs("16m", "");
    let p = m.path.join("f");
    fs::write(&p, vec![7u8; 3 << 20]).unwrap();
    for named in [false, true] {
        opts(named).append(true).write_bytes(&p, b"!").unwrap();
    }
    let got = read(&p);
    assert_eq!(got.len(), (3 << 20) + 2);
    assert!(got[..3 << 20].iter().all(|&b| b == 7));
    assert_eq!(&got[3 << 20..], b"!!");
    assert_only(&m.path, &["f"]);
}

/// A loop-mounted filesystem image, unmounted (and its loop device freed, as
/// `mount -o loop` sets autoclear) on drop.
struct LoopFs {
    dir: tempfile::TempDir,
    _img: tempfile::TempDir,
}

impl LoopFs {
    fn new(mkfs: &str, size: &str) -> LoopFs {
        let img = scratch();
        let dir = scratch();
        let file = img.path().join("fs.img");
        sh(&format!(
            "truncate -s {size} {f} && {mkfs} {f} >/dev/null && mount -o loop {f} {d}",
            f = shell_quote(&file),
            d = shell_quote(dir.path())
        ));
        LoopFs { dir, _img: img }
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        let p = shell_quote(self.dir.path());
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umount {p} || umount -l {p}"))
            .status();
    }
}

/// On btrfs and xfs the copy is a reflink (`FICLONE`): the result must be the
/// same, with the cursor after the cloned content. Full suite (loop mounts).
#[test]
#[ignore = "full suite: root, mkfs.btrfs, mkfs.xfs"]
fn append_with_reflink() {
    require_root();
    require("mkfs.btrfs");
    require("mkfs.xfs");
    for (mkfs, size) in [("mkfs.btrfs -q -f", "160M"), ("mkfs.xfs -q -f", "320M")] {
        let fs_ = LoopFs::new(mkfs, size);
        let d = fs_.dir.path();
        let p = d.join("f");
        // Unaligned size: the clone covers the partial last block too.
        let old: Vec<u8> = (0..(3 << 20) + 4321u32).map(|i| (i % 241) as u8).collect();
        fs::write(&p, &old).unwrap();
        chmod(&p, 0o640);
        for named in [false, true] {
            let mut f = opts(named).append(true).create(&p).unwrap();
            let pos = f.stream_position().unwrap();
            let len = fs::metadata(&p).unwrap().len();
            assert_eq!(pos, len, "{mkfs}: cursor not at the end");
            f.write_all(if named { b"N" } else { b"T" }).unwrap();
            f.commit().unwrap();
        }
        let got = read(&p);
        assert_eq!(got.len(), old.len() + 2, "{mkfs}");
        assert!(
            got[..old.len()] == old[..],
            "{mkfs}: cloned content differs"
        );
        assert_eq!(&got[old.len()..], b"TN", "{mkfs}");
        assert_eq!(mode(&p), 0o640);
        assert_only(d, &["f"]);
    }
}

both_paths! {
    /// 8 processes × 20 one-line appends to one file keep all 160 lines, as
    /// `>>` does: appenders of one target take turns (an exclusive `flock` on
    /// the current target, re-checked after the lock). Without the lock
    /// about a third survive.
    fn concurrent_appenders_keep_every_line(named: bool) {
        let d = scratch();
        let p = d.path().join("log");
        fs::write(&p, b"").unwrap();
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for i in 0..20 {
                        let line = format!("writer {w} line {i}\n");
                        let out = cli_input(cli(named).args(["-a", "--no-sync"]).arg(&p), line.as_bytes());
                        assert!(out.status.success(), "{out:?}");
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let text = String::from_utf8(read(&p)).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 160, "lost appends:\n{text}");
        lines.sort_unstable();
        lines.dedup();
        assert_eq!(lines.len(), 160, "duplicated appends:\n{text}");
        assert_only(d.path(), &["log"]);
    }

    /// A missing target: the first appenders race to create it; none loses
    /// another's line (the directory is locked while the target is missing).
    fn concurrent_appenders_create(named: bool) {
        let d = scratch();
        let p = d.path().join("new");
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for i in 0..3 {
                        opts(named)
                            .append(true)
                            .durability(atomic_write::Durability::None)
                            .write_text(&p, &format!("{w}.{i}\n"))
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(String::from_utf8(read(&p)).unwrap().lines().count(), 24);
    }

    /// `append` with `follow_symlinks(false)` on a symlink is refused: the
    /// link would be replaced by a file that dropped the content it names.
    fn append_no_follow_symlink_refused(named: bool) {
        let d = scratch();
        let real = d.path().join("real");
        fs::write(&real, b"keep\n").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink("real", &link).unwrap();
        let err = opts(named)
            .append(true)
            .follow_symlinks(false)
            .write_bytes(&link, b"more\n")
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        let out = cli_input(cli(named).args(["-a", "--no-follow"]).arg(&link), b"more\n");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(read(&real), b"keep\n");
        assert_only(d.path(), &["link", "real"]);
        // A regular file with --no-follow appends as usual.
        opts(named).append(true).follow_symlinks(false).write_bytes(&real, b"more\n").unwrap();
        assert_eq!(read(&real), b"keep\nmore\n");
    }
}

/// The appended content is that of the very file resolved. The directory's
/// owner swaps the target for a symlink to a root-only file (or a FIFO) in
/// the window between root's `fstatat` of the target and its open (widened
/// with `strace -e inject=newfstatat:delay_exit`): the append fails with
/// "target changed while opening" and commits nothing; it never copies the
/// secret into a file the swapper can read, and never blocks on the FIFO.
#[test]
#[ignore = "full suite: root, strace"]
fn append_swap_between_stat_and_open() {
    require_root();
    require("strace");
    for swap_in in ["symlink", "fifo"] {
        let d = scratch();
        chmod(d.path(), 0o755);
        let secret = d.path().join("secret");
        fs::write(&secret, b"SECRET\n").unwrap();
        chmod(&secret, 0o600);
        let dir = d.path().join("theirs");
        fs::create_dir(&dir).unwrap();
        chown(&dir, 65534, 65534);
        let log = dir.join("log");
        let reset = || {
            let _ = fs::remove_file(&log);
            fs::write(&log, b"log\n").unwrap();
            chown(&log, 65534, 65534);
            chmod(&log, 0o644);
        };
        reset();
        // Which `newfstatat` of the CLI's main thread is the target's, by a dry run.
        let trace_log = d.path().join("dry.strace");
        let out = cli_input(
            std::process::Command::new("strace")
                .args(["-qq", "-e", "trace=newfstatat", "-o"])
                .arg(&trace_log)
                .arg(bin())
                .args(["-a", "--no-sync"])
                .arg(&log),
            b"x\n",
        );
        assert!(out.status.success(), "{out:?}");
        let text = fs::read_to_string(&trace_log).unwrap();
        let nth = text
            .lines()
            .position(|l| l.contains("\"log\"") && l.contains("AT_SYMLINK_NOFOLLOW"))
            .unwrap_or_else(|| panic!("no fstatat of the target in:\n{text}"))
            + 1;
        reset();

        let mut g = ChildGuard(Some(
            std::process::Command::new("strace")
                .args(["-qq", "-o", "/dev/null", "-e"])
                .arg(format!("inject=newfstatat:delay_exit=3000000:when={nth}"))
                .arg(bin())
                .args(["-a", "--no-sync"])
                .arg(&log)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(fs::File::create(d.path().join("stderr")).unwrap())
                .spawn()
                .unwrap(),
        ));
        // The CLI held in its delayed fstatat: stopped by the tracer ("t")
        // for a while (other stops are short).
        let strace_pid = g.child().id();
        let mut stopped_since = None;
        wait_until(30, "the CLI to sit in its delayed fstatat", || {
            let children =
                fs::read_to_string(format!("/proc/{strace_pid}/task/{strace_pid}/children"))
                    .unwrap_or_default();
            let Some(cli) = children.split_whitespace().next() else {
                return false;
            };
            let stat = fs::read_to_string(format!("/proc/{cli}/stat")).unwrap_or_default();
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .chars()
                .next();
            if state == Some('t') {
                let since = *stopped_since.get_or_insert_with(std::time::Instant::now);
                since.elapsed() > std::time::Duration::from_millis(300)
            } else {
                stopped_since = None;
                false
            }
        });
        let swap = dir.join(".swap");
        match swap_in {
            "symlink" => std::os::unix::fs::symlink(&secret, &swap).unwrap(),
            _ => mkfifo(&swap),
        }
        fs::rename(&swap, &log).unwrap();
        let status = wait_timeout(&mut g, 30);
        let stderr = fs::read_to_string(d.path().join("stderr")).unwrap();
        assert_eq!(
            status.code(),
            Some(1),
            "{swap_in}: the append went on: {stderr}"
        );
        assert!(
            stderr.contains("changed while opening"),
            "{swap_in}: {stderr}"
        );
        for name in names(&dir) {
            let p = dir.join(&name);
            if fs::symlink_metadata(&p).unwrap().file_type().is_file() {
                assert!(
                    !String::from_utf8_lossy(&read(&p)).contains("SECRET"),
                    "{swap_in}: the secret was copied into {p:?}"
                );
            }
        }
        assert_eq!(
            names(&dir),
            ["log"],
            "{swap_in}: something was committed or left"
        );
        assert_eq!(read(&secret), b"SECRET\n");
    }
}
