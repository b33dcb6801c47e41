//! Power loss on real filesystems: the block-level equivalent of dm-log-writes,
//! in user space.
//!
//! A raw image, formatted as ext4, xfs or btrfs, sits under a `blklogwrites`
//! node of `qemu-storage-daemon`, which records every write, flush and discard
//! that reaches the "disk" in a log, in dm-log-writes' format. The node is
//! exported through FUSE onto a regular file, and that file is loop-mounted.
//! The writers under test (the CLI, and deliberately broken writers kept
//! here) write into the mounted filesystem; right after each returns, the
//! number of log entries is noted (the point where it reported success).
//!
//! Afterwards the log is replayed onto a copy of the image as it was before
//! the first write, to build crash states: everything up to a FLUSH (plus
//! every FUA write before the crash point), and random subsets of the writes
//! issued after that flush (a disk may have stored any of them, in any order).
//! Each state is loop-mounted, so the filesystem's own journal recovery runs,
//! and the target must hold the old or the new content, and the new one in
//! every state that a crash after the writer's success could leave.
//!
//! Every mount the harness makes lives in a mount namespace of the test's own
//! thread ([`private_mounts`]), and every crash state is a file of its own:
//! see [`private_mounts`] for what went wrong without them.
//!
//! Root-only, behind `ATOMIC_WRITE_FULL_SUITE=1`.
// Linux only: loop devices, mkfs and mount of Linux filesystems; on other systems this binary is empty.
#![cfg(target_os = "linux")]

mod common;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::shell_quote;

// ---------------------------------------------------------------------------
// The log format (qemu block/blklogwrites.c, taken from dm-log-writes.c).
// All fields little-endian. Superblock: magic, version, nr_entries (u64 each),
// sectorsize (u32). Each entry starts on a log sector: a 32-byte header
// {sector, nr_sectors, flags, data_len}, padded to one log sector, then
// nr_sectors sectors of data (none for a discard or a flush).

const LOG_MAGIC: u64 = 0x006a_7366_7773_6872; // "rhswfsj\0" on disk
const LOG_VERSION: u64 = 1;
const FLAG_FLUSH: u64 = 1;
const FLAG_FUA: u64 = 2;
const FLAG_DISCARD: u64 = 4;
const FLAG_MARK: u64 = 8;

#[derive(Clone, Copy, Debug)]
struct Entry {
    sector: u64,
    nr_sectors: u64,
    flags: u64,
    /// Offset of the data in the log file.
    data: u64,
}

impl Entry {
    fn is_flush(&self) -> bool {
        self.flags & FLAG_FLUSH != 0
    }
}

/// The log sector size we ask qemu for.
const LOG_SECTOR: u64 = 512;

/// The superblock's sector size and entry count. qemu writes the superblock
/// at flushes only: before the first one it is zeroes (then the sector size
/// is the one we asked for), and the count may lag behind the entries present.
fn read_super(read_at: &mut dyn FnMut(u64, &mut [u8]) -> io::Result<()>) -> (u64, u64) {
    let mut sb = [0u8; 28];
    read_at(0, &mut sb).expect("read log superblock");
    if sb == [0; 28] {
        return (LOG_SECTOR, 0);
    }
    let u64_at = |o: usize| u64::from_le_bytes(sb[o..o + 8].try_into().unwrap());
    assert_eq!(u64_at(0), LOG_MAGIC, "bad log magic");
    assert_eq!(u64_at(8), LOG_VERSION, "unsupported log version");
    let ss = u64::from(u32::from_le_bytes(sb[24..28].try_into().unwrap()));
    assert!(
        ss.is_power_of_two() && ss >= 512,
        "bad log sector size {ss}"
    );
    (ss, u64_at(16))
}

/// Walks the log's entries up to its end (or a torn last entry).
fn walk(len: u64, read_at: &mut dyn FnMut(u64, &mut [u8]) -> io::Result<()>) -> (u64, Vec<Entry>) {
    if len == 0 {
        return (LOG_SECTOR, Vec::new());
    }
    let (ss, _) = read_super(read_at);
    let mut entries = Vec::new();
    let mut off = ss;
    while off + ss <= len {
        let mut h = [0u8; 32];
        read_at(off, &mut h).expect("read log entry");
        let f = |i: usize| u64::from_le_bytes(h[i * 8..i * 8 + 8].try_into().unwrap());
        let (sector, nr_sectors, flags) = (f(0), f(1), f(2));
        if h == [0; 32] {
            break; // not yet written
        }
        assert_eq!(
            flags & !(FLAG_FLUSH | FLAG_FUA | FLAG_DISCARD | FLAG_MARK),
            0,
            "invalid flags {flags:#x} in log entry {}",
            entries.len()
        );
        let data_sectors = if flags & FLAG_DISCARD != 0 {
            0
        } else {
            nr_sectors
        };
        let next = off + ss + data_sectors * ss;
        if next > len {
            break; // torn: still being written
        }
        entries.push(Entry {
            sector,
            nr_sectors,
            flags,
            data: off + ss,
        });
        off = next;
    }
    (ss, entries)
}

/// Number of complete entries in the log file right now.
fn count_entries(log: &Path) -> usize {
    let f = File::open(log).unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
    let len = f.metadata().unwrap().len();
    walk(len, &mut |o, b| f.read_exact_at(b, o)).1.len()
}

/// The whole log, in memory, for replay.
struct Log {
    sector_size: u64,
    super_count: u64,
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl Log {
    fn read(path: &Path) -> Log {
        let bytes = common::read(path);
        let mut read_at = |o: u64, b: &mut [u8]| {
            let o = o as usize;
            b.copy_from_slice(&bytes[o..o + b.len()]);
            Ok(())
        };
        let (sector_size, entries) = walk(bytes.len() as u64, &mut read_at);
        let (_, super_count) = read_super(&mut read_at);
        Log {
            sector_size,
            super_count,
            bytes,
            entries,
        }
    }

    /// Applies entry `i` to `img` (a write, or a discard as zeroes; a flush
    /// changes nothing).
    fn apply(&self, i: usize, img: &File) {
        let e = self.entries[i];
        let off = e.sector * self.sector_size;
        let len = (e.nr_sectors * self.sector_size) as usize;
        if e.flags & FLAG_DISCARD != 0 {
            // A discarded range may read back as anything the device likes;
            // zeroes are one legal answer.
            img.write_all_at(&vec![0; len], off)
                .expect("replay discard");
        } else if len > 0 {
            let d = e.data as usize;
            img.write_all_at(&self.bytes[d..d + len], off)
                .expect("replay write");
        }
    }
}

// ---------------------------------------------------------------------------
// Guards: everything started or attached is undone on drop, also on panic.

/// `qemu-storage-daemon` exporting a `blklogwrites` node onto `export` (a
/// regular file) through FUSE. Killed by PID and the export unmounted on drop.
struct Daemon {
    child: Child,
    export: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, image: &Path, log: &Path, export: &Path) -> Daemon {
        File::create(export).expect("create export mountpoint");
        let stderr = File::create(dir.join("qsd.stderr")).unwrap();
        let child = Command::new("qemu-storage-daemon")
            .arg("--blockdev")
            .arg(format!(
                "driver=file,node-name=base,filename={}",
                qemu_opt(image)
            ))
            .arg("--blockdev")
            .arg(format!(
                "driver=file,node-name=logfile,filename={}",
                qemu_opt(log)
            ))
            .arg("--blockdev")
            .arg(format!(
                "driver=blklogwrites,node-name=logged,file=base,log=logfile,\
                 log-sector-size={LOG_SECTOR}"
            ))
            .arg("--export")
            .arg(format!(
                "type=fuse,id=exp,node-name=logged,mountpoint={},writable=on",
                qemu_opt(export)
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start qemu-storage-daemon");
        let mut d = Daemon {
            child,
            export: export.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !is_fuse_mounted(export) {
            if let Some(st) = d.child.try_wait().unwrap() {
                panic!(
                    "qemu-storage-daemon exited ({st}): {}",
                    fs::read_to_string(dir.join("qsd.stderr")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "FUSE export did not appear on {}",
                export.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }
}

/// A path as a qemu option value (a comma is written twice).
fn qemu_opt(p: &Path) -> String {
    p.display().to_string().replace(',', ",,")
}

/// Whether a FUSE filesystem is mounted on `path`, in the calling thread's
/// mount namespace ([`private_mounts`]).
fn is_fuse_mounted(path: &Path) -> bool {
    let want = path.to_string_lossy();
    fs::read_to_string("/proc/thread-self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.len() > 4 && f[4] == want && l.contains(" - fuse")
        })
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // By PID: this process and nothing else.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // qemu 7.2 leaves the FUSE mount behind when terminated.
        if is_fuse_mounted(&self.export) {
            let p = shell_quote(&self.export);
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!("fusermount3 -u {p} || umount -l {p}"))
                .status();
        }
    }
}

/// Moves the calling thread, and every thread and process it starts from now
/// on, into a mount namespace of its own, whose mounts propagate nowhere.
///
/// Without it, a program elsewhere on the machine that makes a private mount
/// namespace (`unshare -m`, a chroot helper such as the cross-env script, a
/// test's sandbox) while a crash state is mounted takes a copy of that mount;
/// `umount` then only removes ours, and the filesystem stays alive on its loop
/// device until that other namespace ends. When it finally goes, it writes its
/// last transaction into the image file, by then a later crash state: btrfs
/// printed `using temp-fsid` (its fsid still open), the old state's `last
/// unmount` came in the middle of the next state's mount, and that mount
/// failed with `parent transid verify failed ... wanted 37 found 7`. Mounts
/// made here are in no namespace another program can copy, and they go when
/// the thread ends, whatever happened to the guards.
fn private_mounts() {
    // SAFETY: unshare(2) of the calling thread's mount namespace; no memory is passed.
    #[allow(unsafe_code)]
    let r = unsafe { libc::unshare(libc::CLONE_NEWNS) };
    assert_eq!(r, 0, "unshare(CLONE_NEWNS): {}", io::Error::last_os_error());
    // SAFETY: mount(2) changing only the propagation of `/` and the mounts
    // under it, in the new namespace; static NUL-terminated strings.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "make / private: {}", io::Error::last_os_error());
}

/// A loop device over `file`, detached on drop.
struct Loop {
    dev: String,
}

impl Loop {
    fn attach(file: &Path) -> Loop {
        let out = common::sh(&format!("losetup --find --show {}", shell_quote(file)));
        Loop {
            dev: String::from_utf8(out.stdout).unwrap().trim().to_string(),
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let ok = Command::new("losetup")
            .args(["-d", &self.dev])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("warning: could not detach {}", self.dev);
        }
    }
}

/// A loop device over the crash state image `file`, whose name is removed at
/// once: the loop device keeps the file, and the next state is built into a
/// new file. A filesystem that outlives its `umount` (lazily unmounted, or
/// held by a copy of the mount elsewhere) then only ever writes into its own
/// image, never into a later state's.
fn attach_once(file: &Path) -> Loop {
    let lo = Loop::attach(file);
    fs::remove_file(file).unwrap_or_else(|e| panic!("remove {}: {e}", file.display()));
    lo
}

/// A filesystem mounted on `dir`, unmounted on drop.
struct Mounted {
    dir: PathBuf,
}

impl Mounted {
    /// Mounts with the filesystem's default options; `Err` carries mount's stderr.
    fn mount(dev: &str, fstype: &str, dir: &Path) -> Result<Mounted, String> {
        let out = common::run(Command::new("mount").args(["-t", fstype, dev]).arg(dir));
        if out.status.success() {
            Ok(Mounted {
                dir: dir.to_path_buf(),
            })
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        common::unmount(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Filesystems, writers, workloads.

struct Fs {
    name: &'static str,
    mib: u64,
    mkfs: &'static [&'static str],
    /// Broken writers this filesystem must catch (measured; see TESTING.md).
    must_catch: &'static [&'static str],
}

const EXT4: Fs = Fs {
    name: "ext4",
    mib: 64,
    // Initialise inode tables and journal now, so that no background
    // initialisation pollutes the log.
    mkfs: &[
        "mkfs.ext4",
        "-q",
        "-F",
        "-b",
        "4096",
        "-E",
        "lazy_itable_init=0,lazy_journal_init=0",
    ],
    must_catch: &BROKEN,
};

const XFS: Fs = Fs {
    name: "xfs",
    mib: 300,
    mkfs: &["mkfs.xfs", "-q", "-f"],
    must_catch: &BROKEN,
};

const BTRFS: Fs = Fs {
    name: "btrfs",
    mib: 128,
    mkfs: &["mkfs.btrfs", "-q", "-f"],
    must_catch: &BROKEN,
};

const CLI: &str = "atomic-write CLI";
const NO_FSYNC: &str = "no fsync";
const NO_DIR_FSYNC: &str = "no directory fsync";
const TRUNCATE_IN_PLACE: &str = "truncate in place";
const NO_DATA_FSYNC: &str = "no data fsync";
const CLI_NO_SYNC: &str = "atomic-write --no-sync";
const BROKEN: [&str; 5] = [
    NO_FSYNC,
    NO_DIR_FSYNC,
    TRUNCATE_IN_PLACE,
    NO_DATA_FSYNC,
    CLI_NO_SYNC,
];

const SIZES: [usize; 5] = [0, 1, 4096, 9000, 1 << 20];

/// Random crash states per flush epoch, beyond "none" and "all" of its writes.
const RANDOM_SUBSETS: usize = 16;

/// Writes `data` to `target` (in the mounted filesystem) as `writer` does.
fn write_with(writer: &str, target: &Path, data: &[u8], scratch: &Path) -> io::Result<()> {
    let tmp = target.with_file_name(".target.tmp");
    match writer {
        CLI | CLI_NO_SYNC => {
            let input = scratch.join("input");
            fs::write(&input, data)?;
            let out = Command::new(common::bin())
                .args((writer == CLI_NO_SYNC).then_some("--no-sync"))
                .arg(target)
                .stdin(File::open(&input)?)
                .output()?;
            assert!(
                out.status.success(),
                "atomic-write {} failed: {}",
                target.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(())
        }
        // Write a temp and rename it: atomic for readers, never synced.
        NO_FSYNC => {
            fs::write(&tmp, data)?;
            fs::rename(&tmp, target)
        }
        // The rename is made durable, but the data it points to is not.
        NO_DATA_FSYNC => {
            fs::write(&tmp, data)?;
            fs::rename(&tmp, target)?;
            File::open(target.parent().unwrap())?.sync_all()
        }
        // The data is synced, but the rename lives only in the directory.
        NO_DIR_FSYNC => {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&tmp, target)
        }
        // Truncate and rewrite the target itself, then fsync. The filesystem
        // commits its journal on its own (ext4 every 5 s, xfs and btrfs every
        // 30 s, or whenever anyone calls sync); `syncfs` stands for such a
        // commit landing between the truncate and the write.
        TRUNCATE_IN_PLACE => {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(target)?;
            syncfs(target.parent().unwrap());
            f.write_all(data)?;
            f.sync_all()
        }
        _ => unreachable!("unknown writer {writer}"),
    }
}

fn syncfs(dir: &Path) {
    common::sh(&format!("sync -f {}", shell_quote(dir)));
}

/// Deterministic content distinct per case and per version.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// What a case does: who writes, how big, to what.
#[derive(Clone, Copy)]
struct Workload {
    writer: &'static str,
    overwrite: bool,
    size: usize,
    /// The writer is given a symlink to the target.
    via_link: bool,
    /// Another thread calls `syncfs` in a loop while the writer runs, as the
    /// filesystem's periodic commit would: it lands crash points inside the
    /// writer's steps, not only at its own fsyncs.
    commits: bool,
    /// The old version has a `user.*` attribute and an access ACL, which
    /// every crash state must show on whichever content it holds (issue 10).
    xattrs: bool,
}

struct Case {
    w: Workload,
    dir: String,
    old: Option<Vec<u8>>,
    new: Vec<u8>,
    /// The old version's extended attributes (with [`Workload::xattrs`]).
    old_xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Log entries present after the setup was synced.
    start: usize,
    /// Log entries present when the writer returned.
    marker: usize,
    /// Log entries present after the case was synced.
    end: usize,
}

impl Case {
    fn name(&self) -> String {
        format!(
            "{} ({} target{}, {} bytes{})",
            self.w.writer,
            if self.w.overwrite { "existing" } else { "new" },
            if self.w.via_link {
                " through a symlink"
            } else {
                ""
            },
            self.w.size,
            if self.w.commits {
                ", concurrent commits"
            } else {
                ""
            },
        ) + if self.w.xattrs {
            " with xattrs and ACL"
        } else {
            ""
        }
    }
}

fn workloads() -> Vec<Workload> {
    let w = |writer, overwrite, size| Workload {
        writer,
        overwrite,
        size,
        via_link: false,
        commits: false,
        xattrs: false,
    };
    let mut v = Vec::new();
    for size in SIZES {
        for overwrite in [false, true] {
            v.push(w(CLI, overwrite, size));
        }
    }
    for overwrite in [false, true] {
        v.push(Workload {
            via_link: true,
            ..w(CLI, overwrite, 4096)
        });
    }
    for size in [1, 9000, 1 << 20] {
        for overwrite in [false, true] {
            v.push(Workload {
                commits: true,
                ..w(CLI, overwrite, size)
            });
        }
    }
    for (size, commits) in [(4096, false), (9000, true), (1 << 20, false)] {
        v.push(Workload {
            xattrs: true,
            commits,
            ..w(CLI, true, size)
        });
    }
    for b in BROKEN {
        for overwrite in [false, true] {
            v.push(w(b, overwrite, 4096));
        }
    }
    v
}

/// Calls `syncfs` on `dir`'s filesystem every millisecond until `stop`.
fn commit_loop(dir: &Path, stop: &AtomicBool) -> usize {
    let d = File::open(dir).unwrap();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: syncfs on a file descriptor we own; no memory is passed.
        #[allow(unsafe_code)]
        let r = unsafe { libc::syncfs(d.as_raw_fd()) };
        assert_eq!(r, 0, "syncfs: {}", io::Error::last_os_error());
        n += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    n
}

/// Runs every workload on the live, logged filesystem.
fn record(mnt: &Path, log: &Path, scratch: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for (i, w) in workloads().into_iter().enumerate() {
        let dir = format!("c{i}");
        let d = mnt.join(&dir);
        fs::create_dir(&d).unwrap();
        let target = d.join("target");
        let old = w.overwrite.then(|| content(w.size / 2 + 3, 2 * i as u64));
        if let Some(old) = &old {
            let mut f = File::create(&target).unwrap();
            f.write_all(old).unwrap();
            if w.xattrs {
                common::scenario::decorate(&target);
            }
            f.sync_all().unwrap();
        }
        let path = if w.via_link {
            std::os::unix::fs::symlink("target", d.join("link")).unwrap();
            d.join("link")
        } else {
            target.clone()
        };
        File::open(&d).unwrap().sync_all().unwrap();
        syncfs(&d);
        syncfs(&d);
        let new = content(w.size, 2 * i as u64 + 1);
        let old_xattrs = common::scenario::xattrs(&target);
        // (xfs also shows root its on-disk ACL as `trusted.SGI_ACL_FILE`.)
        let has = |n: &[u8]| old_xattrs.iter().any(|(name, _)| name == n);
        assert_eq!(
            (has(b"user.kept"), has(b"system.posix_acl_access")),
            (w.xattrs, w.xattrs)
        );
        let start = count_entries(log);
        let stop = AtomicBool::new(false);
        let marker = std::thread::scope(|s| {
            let committer = w.commits.then(|| s.spawn(|| commit_loop(&d, &stop)));
            let r = write_with(w.writer, &path, &new, scratch);
            let marker = count_entries(log);
            stop.store(true, Ordering::Relaxed);
            if let Some(c) = committer {
                c.join().unwrap();
            }
            r.unwrap_or_else(|e| panic!("{} on {}: {e}", w.writer, path.display()));
            marker
        });
        assert_eq!(
            common::read(&target),
            new,
            "live content after {}",
            w.writer
        );
        assert_eq!(
            common::scenario::xattrs(&target),
            old_xattrs,
            "live attributes after {}",
            w.writer
        );
        syncfs(&d);
        let end = count_entries(log);
        cases.push(Case {
            w,
            dir,
            old,
            new,
            old_xattrs,
            start,
            marker,
            end,
        });
    }
    cases
}

/// One crash state: everything up to and including entry `flush` (or nothing,
/// `None`), then the chosen entries of the epoch that follows it.
struct State {
    flush: Option<usize>,
    extra: Vec<usize>,
    must_be_new: bool,
}

/// The crash states of one case, bounded: per flush epoch, "none" and "all"
/// of its writes plus [`RANDOM_SUBSETS`] random subsets (all of them when
/// there are fewer). A random subset picks a crash point in the epoch; every
/// FUA write before it is stored, each other write before it maybe.
fn states(log: &Log, case: &Case, rng: &mut fastrand::Rng) -> Vec<State> {
    let flushes: Vec<usize> = (0..log.entries.len())
        .filter(|&i| log.entries[i].is_flush())
        .collect();
    let last_before = |n: usize| flushes.iter().rev().find(|&&f| f < n).copied();
    let first = last_before(case.start);
    // A crash after success keeps at least everything up to the last flush
    // completed before the writer returned.
    let durable = last_before(case.marker);
    let mut epochs = vec![first];
    epochs.extend(
        flushes
            .iter()
            .filter(|&&f| f >= case.start && f < case.end)
            .map(|&f| Some(f)),
    );
    let mut out = Vec::new();
    for flush in epochs {
        let from = flush.map_or(0, |f| f + 1);
        let to = flushes
            .iter()
            .find(|&&f| f >= from)
            .copied()
            .unwrap_or(log.entries.len())
            .min(case.end);
        let writes: Vec<usize> = (from..to).collect();
        let must_be_new = flush >= durable;
        let mut seen = HashSet::new();
        let mut push = |extra: Vec<usize>| {
            if seen.insert(extra.clone()) {
                out.push(State {
                    flush,
                    extra,
                    must_be_new,
                });
            }
        };
        push(Vec::new());
        push(writes.clone());
        if writes.len() <= 3 {
            for bits in 0u32..(1 << writes.len()) {
                push(
                    (0..writes.len())
                        .filter(|b| bits & (1 << b) != 0)
                        .map(|b| writes[b])
                        .collect(),
                );
            }
        } else {
            for _ in 0..RANDOM_SUBSETS {
                let crash = rng.usize(1..=writes.len());
                push(
                    writes[..crash]
                        .iter()
                        .copied()
                        .filter(|&w| log.entries[w].flags & FLAG_FUA != 0 || rng.bool())
                        .collect(),
                );
            }
        }
    }
    out
}

struct Report {
    states: usize,
    /// Per writer: crash states checked.
    states_by: Vec<(&'static str, usize)>,
    /// Per writer: crash states that broke the contract, described.
    violations: Vec<(&'static str, String)>,
    /// Per writer: crash states with a temp file beside the target.
    temps: Vec<(&'static str, String)>,
    /// Crash states whose first mount failed but whose second worked.
    retried: usize,
    /// Names of the cases with a bad crash state, once per bad state.
    bad_cases: Vec<String>,
}

impl Report {
    fn flag(&mut self, case: &Case, what: String) {
        self.violations.push((case.w.writer, what));
        self.bad_cases.push(case.name());
    }
    fn count(&self, writer: &str) -> usize {
        self.violations.iter().filter(|(w, _)| *w == writer).count()
    }
    fn temps(&self, writer: &str) -> usize {
        self.temps.iter().filter(|(w, _)| *w == writer).count()
    }
}

/// The kernel log's last lines, newest first (why a mount failed).
fn kernel_log() -> Vec<String> {
    let out = common::run(Command::new("dmesg").arg("--notime")).stdout;
    String::from_utf8_lossy(&out)
        .lines()
        .rev()
        .take(12)
        .map(String::from)
        .collect()
}

/// Replays crash states onto copies of `pristine` and checks each case.
fn check(fs: &Fs, dir: &Path, pristine: &Path, log: &Log, cases: &[Case]) -> Report {
    let mut rng = fastrand::Rng::with_seed(0x5eed ^ fs.mib);
    // Crash states are copies of a cursor image; on an xfs workspace the copy
    // is a reflink, which takes no time whatever the image holds.
    let ws_img = dir.join("workspace.img");
    File::create(&ws_img).unwrap().set_len(2 << 30).unwrap();
    common::sh(&format!(
        "mkfs.xfs -q -f -m reflink=1 {}",
        shell_quote(&ws_img)
    ));
    let ws_loop = Loop::attach(&ws_img);
    let ws_dir = dir.join("workspace");
    fs::create_dir(&ws_dir).unwrap();
    let ws = Mounted::mount(&ws_loop.dev, "xfs", &ws_dir).unwrap_or_else(|e| panic!("{e}"));
    let cursor_path = ws.dir.join("cursor.img");
    common::sh(&format!(
        "cp --sparse=always {} {}",
        shell_quote(pristine),
        shell_quote(&cursor_path)
    ));
    let cursor = OpenOptions::new().write(true).open(&cursor_path).unwrap();
    let mut applied = 0; // entries [0, applied) are in the cursor image
    let state_path = ws.dir.join("state.img");
    let mnt = dir.join("state-mnt");
    fs::create_dir_all(&mnt).unwrap();
    let mut report = Report {
        states: 0,
        violations: Vec::new(),
        temps: Vec::new(),
        states_by: Vec::new(),
        bad_cases: Vec::new(),
        retried: 0,
    };
    for case in cases {
        for st in states(log, case, &mut rng) {
            let upto = st.flush.map_or(0, |f| f + 1);
            assert!(upto >= applied, "states must come in log order");
            while applied < upto {
                log.apply(applied, &cursor);
                applied += 1;
            }
            let build = || {
                common::sh(&format!(
                    "cp --reflink=always {} {}",
                    shell_quote(&cursor_path),
                    shell_quote(&state_path)
                ));
                let img = OpenOptions::new().write(true).open(&state_path).unwrap();
                for &w in &st.extra {
                    log.apply(w, &img);
                }
            };
            build();
            report.states += 1;
            report.states_by.push((case.w.writer, 1));
            let describe = || {
                format!(
                    "{} on {}: crash state after flush entry {:?} + {} of the writes after it \
                     (writer returned at entry {})",
                    case.name(),
                    fs.name,
                    st.flush,
                    st.extra.len(),
                    case.marker
                )
            };
            let mut lo = attach_once(&state_path);
            let m = match Mounted::mount(&lo.dev, fs.name, &mnt) {
                Ok(m) => m,
                Err(first) => {
                    let first = format!("{first}; kernel log, newest first: {:?}", kernel_log());
                    if let Some(keep) = std::env::var_os("ATOMIC_WRITE_KEEP_FAILED") {
                        let to =
                            Path::new(&keep).join(format!("{}-{}.img", fs.name, report.states));
                        let _ = fs::copy(&lo.dev, &to);
                        eprintln!("kept the crash state in {}", to.display());
                    }
                    // Build the same state again and retry once: a state that
                    // mounts the second time failed for a reason outside it
                    // (reported as such); one that fails twice is a finding.
                    drop(lo);
                    build();
                    lo = attach_once(&state_path);
                    match Mounted::mount(&lo.dev, fs.name, &mnt) {
                        Ok(m) => {
                            eprintln!(
                                "warning: {}: the first mount failed, the second worked: {first}",
                                describe()
                            );
                            report.retried += 1;
                            m
                        }
                        Err(again) => {
                            report.flag(
                                case,
                                format!(
                                    "{}: mount failed twice: {first}; then: {again}; \
                                     kernel log: {:?}",
                                    describe(),
                                    kernel_log()
                                ),
                            );
                            continue;
                        }
                    }
                }
            };
            let d = m.dir.join(&case.dir);
            let found = match fs::read(d.join("target")) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => panic!("{}: read target: {e}", describe()),
            };
            let names = if d.exists() {
                common::names(&d)
            } else {
                Vec::new()
            };
            if names.iter().any(|n| n != "target" && n != "link") {
                report.temps.push((case.w.writer, case.name()));
            }
            let link_ok = !case.w.via_link
                || fs::read_link(d.join("link")).is_ok_and(|l| l == Path::new("target"));
            // Old content with its attributes, or new content with the old
            // attributes: never new content without its ACL.
            let xattrs_ok = !case.w.xattrs
                || found.is_none()
                || common::scenario::xattrs(&d.join("target")) == case.old_xattrs;
            drop(m);
            drop(lo);
            let is_new = found.as_deref() == Some(&case.new[..]);
            let is_old = found == case.old;
            let what = match &found {
                None => "no target".to_string(),
                Some(b) if !b.is_empty() && b.iter().all(|&x| x == 0) => {
                    format!("{} zero bytes, neither old nor new", b.len())
                }
                Some(b) => format!("{} bytes, neither old nor new", b.len()),
            };
            if !link_ok {
                report.flag(case, format!("{}: the symlink is gone", describe()));
            } else if !xattrs_ok {
                report.flag(
                    case,
                    format!("{}: the attributes or the ACL are lost", describe()),
                );
            } else if st.must_be_new && !is_new {
                let what = if is_old { "the old state" } else { &what };
                report.flag(
                    case,
                    format!(
                        "{}: {what}, but the writer had reported success",
                        describe()
                    ),
                );
            } else if !is_new && !is_old {
                report.flag(case, format!("{}: {what}", describe()));
            }
        }
    }
    // Self-check of the parser and replay: the whole log on the pristine
    // image gives back the image the filesystem wrote.
    while applied < log.entries.len() {
        log.apply(applied, &cursor);
        applied += 1;
    }
    drop(cursor);
    common::sh(&format!(
        "cmp {} {}",
        shell_quote(&cursor_path),
        shell_quote(&dir.join("base.img"))
    ));
    drop(ws);
    drop(ws_loop);
    report
}

fn run(fs: &Fs) {
    let tools = [
        "qemu-storage-daemon",
        "fusermount3",
        "losetup",
        "cmp",
        "mkfs.xfs",
        fs.mkfs[0],
    ];
    common::require_root();
    for t in tools {
        common::require(t);
    }
    private_mounts();
    let scratch = common::scratch();
    let dir = scratch.path();
    let image = dir.join("base.img");
    let pristine = dir.join("pristine.img");
    let log_path = dir.join("log.bin");
    File::create(&image).unwrap().set_len(fs.mib << 20).unwrap();
    common::sh(&format!("{} {}", fs.mkfs.join(" "), shell_quote(&image)));
    common::sh(&format!(
        "cp --sparse=always {} {}",
        shell_quote(&image),
        shell_quote(&pristine)
    ));
    File::create(&log_path).unwrap();

    let t = Instant::now();
    let cases = {
        let daemon = Daemon::start(dir, &image, &log_path, &dir.join("export.img"));
        let lo = Loop::attach(&daemon.export);
        let mnt = dir.join("mnt");
        fs::create_dir(&mnt).unwrap();
        let m = Mounted::mount(&lo.dev, fs.name, &mnt).unwrap_or_else(|e| panic!("{e}"));
        let cases = record(&m.dir, &log_path, dir);
        drop(m);
        drop(lo);
        drop(daemon);
        cases
    };
    let recorded = t.elapsed();
    let log = Log::read(&log_path);
    assert!(
        log.super_count <= log.entries.len() as u64,
        "superblock counts {} entries, the log holds {}",
        log.super_count,
        log.entries.len()
    );
    let report = check(fs, dir, &pristine, &log, &cases);

    let flushes = log.entries.iter().filter(|e| e.is_flush()).count();
    let fua = log
        .entries
        .iter()
        .filter(|e| e.flags & FLAG_FUA != 0)
        .count();
    let discards = log
        .entries
        .iter()
        .filter(|e| e.flags & FLAG_DISCARD != 0)
        .count();
    let caught: Vec<&str> = BROKEN
        .iter()
        .copied()
        .filter(|w| report.count(w) > 0)
        .collect();
    let cli_states: usize = report
        .states_by
        .iter()
        .filter(|s| s.0 == CLI)
        .map(|s| s.1)
        .sum();
    println!(
        "power loss on {}: {} log entries ({flushes} flushes, {fua} FUA, {discards} discards); \
         {} cases, {} crash states checked ({cli_states} for the CLI, {} of them with a temp file \
         left beside the target); {} states mounted only at the second try; broken writers \
         caught: {caught:?}; recorded in {:.1?}, checked in {:.1?}",
        fs.name,
        log.entries.len(),
        cases.len(),
        report.states,
        report.temps(CLI),
        report.retried,
        recorded,
        t.elapsed() - recorded,
    );
    let mut temps: Vec<&String> = report.temps.iter().map(|t| &t.1).collect();
    temps.dedup();
    for name in temps {
        let n = report.temps.iter().filter(|t| t.1 == *name).count();
        println!("  {name}: {n} crash states with a temp file beside the target");
    }
    let mut bad = report.bad_cases.clone();
    bad.dedup();
    for name in bad {
        let n = report.bad_cases.iter().filter(|c| **c == name).count();
        let i = report.bad_cases.iter().position(|c| *c == name).unwrap();
        println!(
            "  {name}: {n} bad crash states, e.g. {}",
            report.violations[i].1
        );
    }
    let cli: Vec<&String> = report
        .violations
        .iter()
        .filter(|(w, _)| *w == CLI)
        .map(|(_, d)| d)
        .collect();
    assert!(
        cli.is_empty(),
        "{} crash states broke the contract on {}:\n{}",
        cli.len(),
        fs.name,
        cli.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for w in fs.must_catch {
        assert!(
            caught.contains(w),
            "the harness did not flag the broken writer `{w}` on {}",
            fs.name
        );
    }
}

#[test]
#[ignore = "full suite: root, qemu-storage-daemon, mkfs.*"]
fn power_loss_ext4() {
    run(&EXT4);
}

#[test]
#[ignore = "full suite: root, qemu-storage-daemon, mkfs.*"]
fn power_loss_xfs() {
    run(&XFS);
}

#[test]
#[ignore = "full suite: root, qemu-storage-daemon, mkfs.*"]
fn power_loss_btrfs() {
    run(&BTRFS);
}

/// The harness's mounts are out of reach of other mount namespaces: one that
/// another program makes while a crash state is mounted gets no copy of it
/// (which would keep that filesystem alive past our `umount`, writing into a
/// later state: see [`private_mounts`]), and the machine's own namespace never
/// sees it either.
#[test]
#[ignore = "full suite: root, unshare"]
fn mounts_stay_out_of_other_namespaces() {
    common::require_root();
    common::require("unshare");
    let scratch = common::scratch();
    let dir = scratch.path().join("mnt");
    fs::create_dir(&dir).unwrap();
    let want = format!(" {} ", dir.display());
    let listed = |mountinfo: &[u8]| {
        String::from_utf8_lossy(mountinfo)
            .lines()
            .any(|l| l.contains(&want))
    };
    let (mounted_tx, mounted_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (dir, listed) = (&dir, &listed);
    std::thread::scope(|s| {
        let harness = s.spawn(move || {
            private_mounts();
            let m = Mounted::mount("tmpfs", "tmpfs", dir).unwrap_or_else(|e| panic!("{e}"));
            // The harness itself, and what it starts, see the mount.
            let own = fs::read("/proc/thread-self/mountinfo").unwrap();
            let child = common::run(Command::new("cat").arg("/proc/self/mountinfo")).stdout;
            mounted_tx.send(()).unwrap();
            let _ = done_rx.recv();
            drop(m);
            (listed(&own), listed(&child))
        });
        mounted_rx.recv().expect("the harness thread mounted");
        // Meanwhile, from this thread (the process's namespace): the machine's
        // view, and a private namespace made now, as `unshare -m` makes one.
        let machine = fs::read("/proc/thread-self/mountinfo").unwrap();
        let copy = common::run(Command::new("unshare").args([
            "-m",
            "--propagation",
            "private",
            "cat",
            "/proc/self/mountinfo",
        ]));
        done_tx.send(()).unwrap();
        let (own, child) = harness.join().unwrap();
        assert!(own && child, "the harness does not see its own mount");
        assert!(copy.status.success(), "unshare -m failed");
        assert!(
            !listed(&machine),
            "the harness's mount is in the machine's namespace"
        );
        assert!(
            !listed(&copy.stdout),
            "a namespace made while the harness had a mount got a copy of it"
        );
    });
}

/// Every broken writer is expected to be caught on at least one filesystem.
#[test]
fn every_broken_writer_is_caught_somewhere() {
    for w in BROKEN {
        assert!(
            [EXT4, XFS, BTRFS].iter().any(|f| f.must_catch.contains(&w)),
            "no filesystem is expected to catch `{w}`"
        );
    }
}

/// The parser reads a hand-made log the way qemu writes it.
#[test]
fn parses_a_log() {
    let ss = 512usize;
    let mut log = vec![0u8; ss];
    log[..8].copy_from_slice(&LOG_MAGIC.to_le_bytes());
    log[8..16].copy_from_slice(&LOG_VERSION.to_le_bytes());
    log[16..24].copy_from_slice(&1u64.to_le_bytes());
    log[24..28].copy_from_slice(&(ss as u32).to_le_bytes());
    let mut entry = |sector: u64, nr: u64, flags: u64, fill: u8| {
        let mut h = vec![0u8; ss];
        for (i, v) in [sector, nr, flags, 0].into_iter().enumerate() {
            h[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        log.extend(h);
        if flags & FLAG_DISCARD == 0 {
            log.extend(vec![fill; nr as usize * ss]);
        }
    };
    entry(8, 2, 0, 0xaa);
    entry(0, 0, FLAG_FLUSH, 0);
    entry(16, 4, FLAG_DISCARD, 0);
    entry(2, 1, FLAG_FUA, 0xbb);
    log.extend(vec![0u8; 100]); // a torn tail is ignored
    let (got_ss, entries) = walk(log.len() as u64, &mut |o, b| {
        b.copy_from_slice(&log[o as usize..o as usize + b.len()]);
        Ok(())
    });
    assert_eq!(got_ss, 512);
    let summary: Vec<(u64, u64, u64, u64)> = entries
        .iter()
        .map(|e| (e.sector, e.nr_sectors, e.flags, e.data))
        .collect();
    assert_eq!(
        summary,
        [
            (8, 2, 0, 1024),
            (0, 0, FLAG_FLUSH, 2560),
            (16, 4, FLAG_DISCARD, 3072),
            (2, 1, FLAG_FUA, 3584)
        ]
    );
}
