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

// Issue 15 item 2: appends never hang, never deadlock, never lose an append.
// Each wait that could hang runs under `within`, so a hang fails the test.

mod locks {
    use super::*;
    use std::io::ErrorKind;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    both_paths! {
        /// Two appenders of one file on one thread: the second fails at once
        /// with `WouldBlock`, saying why (it would wait for itself); the
        /// first's append is kept. (It used to return `Ok` unlocked, and the
        /// first append was lost: `base\nB\n`.)
        fn same_thread_second_appender_fails_fast(named: bool) {
            let d = scratch();
            let p = d.path().join("f");
            fs::write(&p, b"base\n").unwrap();
            let mut o = opts(named);
            o.append(true);
            let mut a = o.create(&p).unwrap();
            a.write_all(b"A\n").unwrap();
            let start = Instant::now();
            let err = o.create(&p).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
            assert!(start.elapsed() < Duration::from_secs(1), "waited {:?}", start.elapsed());
            let msg = err.to_string();
            assert!(msg.contains("created on this thread") && msg.contains(&format!("{p:?}")), "{msg}");
            a.commit().unwrap();
            o.write_text(&p, "B\n").unwrap();
            assert_eq!(read(&p), b"base\nA\nB\n");
            assert_only(d.path(), &["f"]);
        }

        /// An appender created on a worker thread and moved to this one; a
        /// second `create()` here waits at most `lock_timeout` and fails with
        /// `WouldBlock` (it used to hang forever: `flock` on a second
        /// descriptor of this process waited for the first).
        fn moved_appender_then_create_is_bounded(named: bool) {
            let d = scratch();
            let p = d.path().join("f");
            fs::write(&p, b"base\n").unwrap();
            let p2 = p.clone();
            within(20, "create() next to a moved appender", move || {
                let mut o = opts(named);
                o.append(true).lock_timeout(Duration::from_millis(500));
                let mut a = {
                    let o = o.clone();
                    let p = p2.clone();
                    std::thread::spawn(move || o.create(&p).unwrap()).join().unwrap()
                };
                a.write_all(b"A\n").unwrap();
                let start = Instant::now();
                let err = o.create(&p2).unwrap_err();
                let took = start.elapsed();
                assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
                assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(5), "{took:?}");
                assert!(err.to_string().contains("another thread"), "{err}");
                a.commit().unwrap();
                o.write_text(&p2, "B\n").unwrap();
            });
            assert_eq!(read(&p), b"base\nA\nB\n");
        }

        /// An appender on another thread of this process: the second waits
        /// for it (no `flock` of ours against ours) and appends after it.
        fn other_thread_waits_then_appends(named: bool) {
            let d = scratch();
            let p = d.path().join("f");
            fs::write(&p, b"base\n").unwrap();
            let p2 = p.clone();
            within(20, "two threads appending", move || {
                let mut a = opts(named).append(true).create(&p2).unwrap();
                a.write_all(b"A\n").unwrap();
                let p3 = p2.clone();
                let second = std::thread::spawn(move || opts(named).append(true).write_text(&p3, "B\n"));
                std::thread::sleep(Duration::from_millis(200));
                a.commit().unwrap();
                second.join().unwrap().unwrap();
            });
            assert_eq!(read(&p), b"base\nA\nB\n");
        }

        /// Appenders of two *new* files in one directory never wait for each
        /// other (they used to lock the directory: the second, on another
        /// thread, waited for the first's commit).
        fn new_files_in_one_directory_do_not_serialise(named: bool) {
            let d = scratch();
            let g = d.path().join("g");
            let h = d.path().join("h");
            let (g2, h2) = (g.clone(), h.clone());
            within(20, "appenders of two new files", move || {
                let mut a = opts(named).append(true).create(&g2).unwrap();
                a.write_all(b"G\n").unwrap();
                let h3 = h2.clone();
                std::thread::spawn(move || {
                    opts(named).append(true).lock_timeout(Duration::ZERO).write_text(&h3, "H\n")
                })
                .join()
                .unwrap()
                .unwrap();
                a.commit().unwrap();
            });
            assert_eq!(read(&g), b"G\n");
            assert_eq!(read(&h), b"H\n");
            assert_only(d.path(), &["g", "h"]);
        }

        /// Two appenders of one missing file, both created before either
        /// commits (same thread: nothing locked while it is missing): the
        /// second commit finds the file the first created and appends to it
        /// (it used to replace it: the first append was lost). Also through
        /// `commit_into_file` (the file handed back is the committed one)
        /// and `commit_all`.
        fn new_file_created_meanwhile_is_appended_to(named: bool) {
            let d = scratch();
            let p = d.path().join("new");
            let mut o = opts(named);
            o.append(true).mode(0o640);
            let mut a = o.create(&p).unwrap();
            let mut b = o.create(&p).unwrap();
            let mut c = o.create(&p).unwrap();
            let mut e = o.create(&p).unwrap();
            a.write_all(b"A\n").unwrap();
            b.write_all(b"B\n").unwrap();
            c.write_all(b"C\n").unwrap();
            e.write_all(b"E\n").unwrap();
            a.commit().unwrap();
            b.commit().unwrap();
            let mut f = c.commit_into_file().unwrap();
            use std::io::Read;
            let mut back = String::new();
            f.seek(SeekFrom::Start(0)).unwrap();
            f.read_to_string(&mut back).unwrap();
            assert_eq!(back, "A\nB\nC\n");
            atomic_write::commit_all([e]).unwrap();
            assert_eq!(read(&p), b"A\nB\nC\nE\n");
            assert_eq!(mode(&p), 0o640);
            assert_only(d.path(), &["new"]);
            // --if-changed: an append to a file created meanwhile is never
            // "unchanged", whatever the content.
            let q = d.path().join("same");
            let mut x = o.create(&q).unwrap();
            let mut y = o.create(&q).unwrap();
            x.write_all(b"S\n").unwrap();
            y.write_all(b"S\n").unwrap();
            assert!(x.commit_if_changed().unwrap());
            assert!(y.commit_if_changed().unwrap());
            assert_eq!(read(&q), b"S\nS\n");
            // In one batch, after a plain write that creates it: no wait for
            // the batch's own temp lock.
            let r = d.path().join("batch");
            let mut y = o.create(&r).unwrap();
            let mut x = opts(named).create(&r).unwrap();
            x.write_all(b"X\n").unwrap();
            y.write_all(b"Y\n").unwrap();
            let start = Instant::now();
            atomic_write::commit_all([x, y]).unwrap();
            assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
            assert_eq!(read(&r), b"X\nY\n");
        }

        /// A lock held by another process (`flock -s` by a user who may only
        /// read the file): the append waits `lock_timeout`, then fails with
        /// `WouldBlock`, nothing written, naming the file and the holder's
        /// pid (it used to wait forever).
        #[ignore = "needs root, setpriv, flock"]
        fn lock_held_elsewhere_times_out(named: bool) {
            require_root();
            require("setpriv");
            require("flock");
            let (_t, d) = scratch_for_nobody(0o755);
            let p = d.join("f");
            fs::write(&p, b"base\n").unwrap();
            chmod(&p, 0o644);
            let mut holder = ChildGuard(Some(
                as_nobody("flock")
                    .args(["-s", "-o"])
                    .arg(&p)
                    .args(["-c", "echo locked; read x"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap(),
            ));
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(holder.child().stdout.take().unwrap()),
                &mut line,
            )
            .unwrap();
            assert_eq!(line, "locked\n");
            let pid = holder.child().id();
            let p2 = p.clone();
            let (err, took) = within(20, "an append against a held lock", move || {
                let start = Instant::now();
                let err = opts(named)
                    .append(true)
                    .lock_timeout(Duration::from_secs(1))
                    .write_text(&p2, "more\n")
                    .unwrap_err();
                (err, start.elapsed())
            });
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
            assert!(took >= Duration::from_millis(950) && took < Duration::from_secs(5), "{took:?}");
            let msg = err.to_string();
            assert!(msg.contains(&format!("{p:?}")) && msg.contains(&format!("pid {pid}")), "{msg}");
            assert_eq!(read(&p), b"base\n");
            assert_only(&d, &["f"]);
            // Zero: no wait at all.
            let start = Instant::now();
            let err = opts(named).append(true).lock_timeout(Duration::ZERO).write_text(&p, "x").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
            assert!(start.elapsed() < Duration::from_millis(500));
            drop(holder);
            opts(named).append(true).lock_timeout(Duration::from_secs(5)).write_text(&p, "more\n").unwrap();
            assert_eq!(read(&p), b"base\nmore\n");
        }
    }

    /// The default wait is bounded: about 10 s, then `WouldBlock`.
    #[test]
    #[ignore = "needs flock; takes 10 s"]
    fn default_lock_timeout_is_ten_seconds() {
        require("flock");
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"base\n").unwrap();
        let mut holder = ChildGuard(Some(
            Command::new("flock")
                .arg("-o")
                .arg(&p)
                .args(["-c", "echo locked; read x"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        ));
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(holder.child().stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let p2 = p.clone();
        let (err, took) = within(30, "an append with the default timeout", move || {
            let start = Instant::now();
            let err = atomic_write::Options::new()
                .append(true)
                .write_text(&p2, "x")
                .unwrap_err();
            (err, start.elapsed())
        });
        assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
        assert!(
            took >= Duration::from_millis(9900) && took < Duration::from_secs(14),
            "{took:?}"
        );
        assert!(err.to_string().contains("within 10 s"), "{err}");
        assert_eq!(read(&p), b"base\n");
    }

    /// A forked child that shares the descriptors does not keep the lock
    /// once the parent committed (the temp's lock, on the target now) or
    /// dropped its appender (the target's lock): both are released
    /// explicitly. It used to hold them for as long as it lived, and the
    /// next appender waited for it.
    #[test]
    #[allow(unsafe_code)] // a real fork(), as the issue asks
    fn forked_child_does_not_keep_the_lock() {
        for (named, commit) in [(false, true), (true, true), (false, false), (true, false)] {
            let d = scratch();
            let p = d.path().join("f");
            fs::write(&p, b"base\n").unwrap();
            let mut a = opts(named).append(true).create(&p).unwrap();
            a.write_all(b"A\n").unwrap();
            // SAFETY: the child only sleeps and `_exit`s (async-signal-safe),
            // touching nothing the parent's other threads may hold.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                // SAFETY: plain calls with no pointer, then the child ends.
                unsafe {
                    libc::sleep(30);
                    libc::_exit(0);
                }
            }
            let _reap = scopeguard::guard(pid, |pid| {
                // SAFETY: our own child, by its pid; `status` may be null.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
            });
            if commit {
                a.commit().unwrap();
            } else {
                drop(a);
            }
            let p2 = p.clone();
            within(20, "an append after the parent let go", move || {
                opts(named)
                    .append(true)
                    .lock_timeout(Duration::ZERO)
                    .write_text(&p2, "B\n")
            })
            .unwrap_or_else(|e| panic!("named={named} commit={commit}: {e}"));
            let want: &[u8] = if commit {
                b"base\nA\nB\n"
            } else {
                b"base\nB\n"
            };
            assert_eq!(read(&p), want, "named={named} commit={commit}");
        }
    }
}

/// The CLI's side of issue 15 item 2: `--wait`, nested appenders, signals
/// during the wait. Every run is bounded (`wait_timeout`), so a hang fails.
mod cli_locks {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// Runs `sh -c SCRIPT` (with `$0` = the binary, `$1` = the directory)
    /// and gives it `secs` to finish.
    fn sh_in(
        dir: &std::path::Path,
        script: &str,
        secs: u64,
    ) -> (std::process::ExitStatus, String, Duration) {
        let start = Instant::now();
        let mut g = ChildGuard(Some(
            Command::new("sh")
                .args(["-c", script, bin()])
                .arg(dir)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ));
        let mut err = g.child().stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut err, &mut s).unwrap();
            s
        });
        let status = wait_timeout(&mut g, secs);
        (status, reader.join().unwrap(), start.elapsed())
    }

    /// `atomic-write -a f -- sh -c 'echo x | atomic-write -a f'`: the outer
    /// holds f's lock while it waits for the command; the inner waits its
    /// `--wait` and fails naming the outer's pid (an ancestor of it); the
    /// outer then fails as its command did. f is untouched. (It used to
    /// hang, each waiting for the other.)
    #[test]
    fn nested_appenders_of_one_file_end() {
        let d = scratch();
        fs::write(d.path().join("f"), b"base\n").unwrap();
        let (status, err, took) = sh_in(
            d.path(),
            r#""$0" -a f -- sh -c 'echo "outer=$PPID" >&2; echo x | "$1" --wait 1 -a f' "$0" "$0""#,
            20,
        );
        assert_eq!(status.code(), Some(1), "{err}");
        assert!(took < Duration::from_secs(8), "{took:?}");
        let outer = err
            .lines()
            .find_map(|l| l.strip_prefix("outer="))
            .expect(&err);
        assert!(
            err.contains(&format!("(pid {outer}, an ancestor of this process"))
                && err.contains("gave up after waiting 1 s (--wait)"),
            "{err}"
        );
        assert_eq!(read(&d.path().join("f")), b"base\n");
        assert_only(d.path(), &["f"]);
    }

    /// Two *new* files in one directory, nested: neither waits (they used
    /// to lock the directory and hang); and one new file nested in itself:
    /// the inner creates it, the outer's commit appends to what it created.
    #[test]
    fn nested_appenders_of_new_files_end() {
        let d = scratch();
        let (status, err, took) = sh_in(
            d.path(),
            r#""$0" -a g -- sh -c 'echo x | "$0" -a h; echo y' "$0""#,
            20,
        );
        assert!(status.success(), "{err}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(read(&d.path().join("g")), b"y\n");
        assert_eq!(read(&d.path().join("h")), b"x\n");
        let (status, err, _) = sh_in(
            d.path(),
            r#""$0" -a n -- sh -c 'echo x | "$0" -a n; echo y' "$0""#,
            20,
        );
        assert!(status.success(), "{err}");
        assert_eq!(read(&d.path().join("n")), b"x\ny\n");
        assert_only(d.path(), &["g", "h", "n"]);
    }

    /// A lock held by another process: `--wait 0` fails at once, `--wait
    /// 0.5` after half a second, naming the file and the holder's pid;
    /// nothing written.
    #[test]
    #[ignore = "needs flock"]
    fn wait_seconds() {
        require("flock");
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"base\n").unwrap();
        let mut holder = ChildGuard(Some(
            Command::new("flock")
                .arg("-o")
                .arg(&p)
                .args(["-c", "echo locked; read x"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        ));
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(holder.child().stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let pid = holder.child().id();
        for (wait, at_least) in [("0", 0), ("0.5", 450)] {
            let start = Instant::now();
            let out = cli_input(
                Command::new(bin()).args(["-a", "--wait", wait]).arg(&p),
                b"x\n",
            );
            let took = start.elapsed();
            let line = assert_io_failure(&out, &p);
            assert!(
                line.contains(&format!("(pid {pid})"))
                    && line.contains("locked by another appender"),
                "{line}"
            );
            assert!(
                took >= Duration::from_millis(at_least) && took < Duration::from_secs(5),
                "{took:?}"
            );
        }
        assert_eq!(read(&p), b"base\n");
        assert_only(d.path(), &["f"]);
        // `--wait` needs `-a`; a bad number is a usage error.
        for bad in [
            &["--wait", "1", "x"][..],
            &["-a", "--wait", "-1", "x"],
            &["-a", "--wait", "1e3", "x"],
        ] {
            let out = cli_input(Command::new(bin()).args(bad).current_dir(d.path()), b"");
            assert_eq!(out.status.code(), Some(2), "{bad:?}");
        }
    }

    /// SIGTERM (SIGINT) while waiting for the lock ends the CLI of that
    /// signal, with nothing created; `timeout 1` stops it. (It used to
    /// ignore them until it had the lock.)
    #[test]
    #[ignore = "needs flock, timeout"]
    fn signal_during_the_wait() {
        require("flock");
        require("timeout");
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"base\n").unwrap();
        let mut holder = ChildGuard(Some(
            Command::new("flock")
                .arg("-o")
                .arg(&p)
                .args(["-c", "echo locked; read x"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        ));
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(holder.child().stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        for sig in [libc::SIGTERM, libc::SIGINT] {
            let mut g = ChildGuard(Some(
                Command::new(bin())
                    .args(["-a", "--wait", "30"])
                    .arg(&p)
                    .stdin(Stdio::piped())
                    .spawn()
                    .unwrap(),
            ));
            std::thread::sleep(Duration::from_millis(300));
            signal(g.child().id(), sig);
            let status = wait_timeout(&mut g, 5);
            assert_eq!(status.signal(), Some(sig), "{status}");
        }
        let start = Instant::now();
        let out = Command::new("timeout")
            .arg("1")
            .arg(bin())
            .arg("-a")
            .arg(&p)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(124), "{out:?}");
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(read(&p), b"base\n");
        assert_only(d.path(), &["f"]);
    }
}
