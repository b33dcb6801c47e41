//! Power loss on a model filesystem.
//!
//! The writer runs once on a FUSE filesystem (tests/modelfs) that logs every
//! operation it serves. The log is then replayed: for every K, the first K
//! operations are applied and the machine "loses power" — every object keeps
//! its last synced version, or (early write-back) its current one, in every
//! combination. Each distinct state is mounted again and the target read
//! through the kernel. It must hold the whole old or the whole new content, and
//! the new content in every state after the writer reported success.
//!
//! File data is durable only after `fsync` of the file, directory entries only
//! after `fsync` of that directory (see tests/modelfs/mod.rs for the rules).
//! Each crate write runs on the model without `O_TMPFILE` (the named-temp
//! fallback) and with it (tests/modelfs/tmpfile.rs).
//! Backups (`Options::backup`) are checked too: the backup holds the
//! previous backup or the old content while the target is old, and the old
//! content with the old attributes once it is new; fresh directories made by
//! `create_parents` must survive with the file.
//! Before trusting that, the suite shows the harness flags deliberately broken
//! writers kept below: no file fsync, no directory fsync, truncate-in-place.
//!
//! The mounting tests run in the full suite (`ATOMIC_WRITE_FULL_SUITE=1`) and
//! need root and /dev/fuse (under CI=true, missing either fails the test).
//! `ATOMIC_WRITE_FULL_SUITE=1 cargo test --test power_fuse -- --nocapture
//! --test-threads=1` prints the figures.

mod common;
mod modelfs;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use atomic_write::{AtomicFile, Durability, Options};
use modelfs::fuse::Mounted;
use modelfs::{check, BackupExpect, Expect, Image, Inode, Model, Op, Verdict};

/// The sizes the issue asks for: empty, one byte, one page, more than two
/// pages, 1 MiB.
const SIZES: [usize; 5] = [0, 1, 4096, 9000, 1 << 20];

/// Deterministic bytes, different for each seed.
fn content(size: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// The target does not exist yet.
    New,
    /// The target exists with other content (5000 bytes).
    Overwrite,
    /// The target exists and is written through a symlink in another directory.
    ViaSymlink,
}

struct Workload {
    name: String,
    initial: Image,
    /// The path the writer is given, relative to the mount.
    path: &'static str,
    /// The final target (symlink followed).
    real: &'static str,
    old: Option<Vec<u8>>,
    /// What the writer is given.
    input: Vec<u8>,
    /// What the target must hold after the write.
    new: Vec<u8>,
    /// Mount the model with `O_TMPFILE`: the crate's unnamed-temp path.
    tmpfile: bool,
    /// Make the model refuse `renameat2` flags (as FUSE servers without
    /// `RENAME2` do), to reach the crate's link-based `no_clobber` fallback.
    refuse_rename_flags: bool,
    /// The writer keeps a backup at this path (relative to the mount).
    backup: Option<&'static str>,
    /// Make the model refuse hard links, to reach the backup's copy fallback.
    refuse_links: bool,
}

fn workload(kind: Kind, size: usize) -> Workload {
    let mut initial = Image::new();
    initial.add("d", Inode::dir(0o755));
    let old = (kind != Kind::New).then(|| content(5000, 1));
    if let Some(old) = &old {
        initial.add("d/file", Inode::file(old, 0o640));
    }
    let path = if kind == Kind::ViaSymlink {
        initial.add("link", Inode::symlink("d/file"));
        "link"
    } else {
        "d/file"
    };
    Workload {
        name: format!("{kind:?} {size} B"),
        initial,
        path,
        real: "d/file",
        old,
        input: content(size, 2 + size as u64),
        new: content(size, 2 + size as u64),
        refuse_rename_flags: false,
        tmpfile: false,
        backup: None,
        refuse_links: false,
    }
}

/// An overwrite that keeps the old version as `d/file~`, replacing a
/// previous backup there (owned by someone else, with another mode, so that
/// its replacement shows).
fn backup_workload(size: usize, refuse_links: bool) -> Workload {
    let mut w = workload(Kind::Overwrite, size);
    w.initial.add(
        "d/file~",
        Inode {
            uid: 7,
            gid: 7,
            ..Inode::file(&content(700, 99), 0o600)
        },
    );
    w.backup = Some("d/file~");
    w.refuse_links = refuse_links;
    w.name = format!(
        "Backup{} {size} B",
        if refuse_links { "NoLinks" } else { "" }
    );
    w
}

/// A new target reached through a dangling symlink: the write creates it.
fn dangling_symlink_workload(size: usize) -> Workload {
    let mut w = workload(Kind::New, size);
    w.initial.add("link", Inode::symlink("d/file"));
    w.path = "link";
    w.name = format!("DanglingLink {size} B");
    w
}

/// An overwrite of a setgid file owned by someone else: the commit must set
/// owner and mode on the temp before its fsync.
fn foreign_owner_workload(size: usize) -> Workload {
    let mut w = workload(Kind::New, size);
    let old = content(5000, 1);
    w.initial.add(
        "d/file",
        Inode {
            uid: 1000,
            gid: 1000,
            ..Inode::file(&old, 0o2750)
        },
    );
    w.old = Some(old);
    w.name = format!("Owner1000 {size} B");
    w
}

/// An append to the existing target: the writer is given `size` bytes, the
/// target must end up with the old content followed by them.
fn append_workload(size: usize) -> Workload {
    let mut w = workload(Kind::Overwrite, size);
    w.name = format!("Append {size} B");
    w.new = [w.old.as_deref().unwrap_or_default(), &w.input].concat();
    w
}

type Writer = fn(&Path, &[u8]) -> io::Result<()>;

// ---- The writers under test ------------------------------------------------

fn crate_write_bytes(path: &Path, data: &[u8]) -> io::Result<()> {
    atomic_write::write_bytes(path, data)
}

fn crate_streaming(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    for chunk in data.chunks(3000) {
        f.write_all(chunk)?;
    }
    f.commit()
}

fn crate_no_clobber(path: &Path, data: &[u8]) -> io::Result<()> {
    Options::new().no_clobber(true).write_bytes(path, data)
}

/// Documented as not power-safe: the harness must flag it.
fn crate_durability_none(path: &Path, data: &[u8]) -> io::Result<()> {
    Options::new()
        .durability(Durability::None)
        .write_bytes(path, data)
}

fn crate_append(path: &Path, data: &[u8]) -> io::Result<()> {
    Options::new().append(true).write_bytes(path, data)
}

fn crate_backup(path: &Path, data: &[u8]) -> io::Result<()> {
    Options::new().backup("~").write_bytes(path, data)
}

fn crate_if_changed(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = Options::new().backup("~").create(path)?;
    f.write_all(data)?;
    f.commit_if_changed().map(drop)
}

fn crate_parents(path: &Path, data: &[u8]) -> io::Result<()> {
    Options::new().create_parents(true).write_bytes(path, data)
}

fn cli(path: &Path, data: &[u8]) -> io::Result<()> {
    cli_with(&[], path, data)
}

fn cli_backup(path: &Path, data: &[u8]) -> io::Result<()> {
    cli_with(&["--backup"], path, data)
}

fn cli_parents(path: &Path, data: &[u8]) -> io::Result<()> {
    cli_with(&["-p"], path, data)
}

fn cli_with(args: &[&str], path: &Path, data: &[u8]) -> io::Result<()> {
    let mut child = Command::new(common::bin())
        .args(args)
        .arg(path)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().expect("stdin").write_all(data)?;
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "CLI failed: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

// ---- Deliberately broken writers: the harness must flag each -------------

fn temp_beside(path: &Path) -> std::path::PathBuf {
    let name = path.file_name().expect("name").to_string_lossy();
    path.with_file_name(format!(".{name}.broken.tmp"))
}

/// Temp, write, rename, directory fsync — but never fsyncs the file.
fn broken_no_file_fsync(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = temp_beside(path);
    File::create(&tmp)?.write_all(data)?;
    fs::rename(&tmp, path)?;
    File::open(path.parent().expect("dir"))?.sync_all()
}

/// Temp, write, fsync, rename — but never fsyncs the directory.
fn broken_no_dir_fsync(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = temp_beside(path);
    let mut f = File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// Temp, write, fsync, then the mode, rename, directory fsync: the mode change
/// is never synced, so a crash can leave the new content with the temp's mode.
fn broken_mode_after_fsync(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = temp_beside(path);
    let mut f = File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    f.set_permissions(fs::Permissions::from_mode(0o640))?;
    fs::rename(&tmp, path)?;
    File::open(path.parent().expect("dir"))?.sync_all()
}

/// Truncates the target and writes it in place, then fsyncs.
fn broken_truncate_in_place(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// A correct write, after copying the old version over the backup in place
/// without syncing it (`cp file file~`): a crash can leave the new target
/// with an empty or partial backup.
fn broken_backup_unsynced_copy(path: &Path, data: &[u8]) -> io::Result<()> {
    let name = path.file_name().expect("name").to_string_lossy();
    fs::write(path.with_file_name(format!("{name}~")), fs::read(path)?)?;
    crate_write_bytes(path, data)
}

/// A correct write, after making the backup with `rename(file, file~)`
/// (`mv file file~`, then write): a crash between them leaves no target.
fn broken_backup_by_move(path: &Path, data: &[u8]) -> io::Result<()> {
    let name = path.file_name().expect("name").to_string_lossy();
    fs::rename(path, path.with_file_name(format!("{name}~")))?;
    File::open(path.parent().expect("dir"))?.sync_all()?;
    crate_write_bytes(path, data)
}

// ---- The harness ------------------------------------------------------------

/// Fails the test unless the model can be mounted: it needs root and /dev/fuse.
fn fuse_ready() {
    common::require_root();
    if !Path::new("/dev/fuse").exists() {
        common::missing("/dev/fuse");
    }
}

struct Run {
    /// `(perm, uid, gid)` of the target after the write, without a crash.
    attrs: (u32, u32, u32),
    log: Vec<Op>,
    verdict: Verdict,
    images: Vec<Image>,
}

/// Runs `writer` once on the mounted model, then checks every crash state of
/// its log under `model`.
#[track_caller]
fn run(w: &Workload, writer: Writer, model: Model) -> Run {
    let mnt = Mounted::mount(w.initial.clone(), w.tmpfile)
        .unwrap_or_else(|e| panic!("mounting the model filesystem failed: {e}"));
    mnt.refuse_rename_flags(w.refuse_rename_flags);
    mnt.refuse_links(w.refuse_links);
    let result = writer(&mnt.path.join(w.path), &w.input);
    // Every operation of the write has been served when it returns.
    let reported_at = result.is_ok().then(|| mnt.ops());
    if let Err(e) = &result {
        panic!("{}: the writer failed on the model filesystem: {e}", w.name);
    }
    let live = mnt.image();
    let log = mnt.unmount();
    assert_eq!(
        live.read(Path::new(w.path)),
        Some(&w.new[..]),
        "{}: without a crash the target must hold the new content",
        w.name
    );
    let (verdict, images) = check(
        &w.initial,
        &log,
        model,
        &Expect {
            path: Path::new(w.path),
            real: Path::new(w.real),
            old: w.old.as_deref(),
            new: &w.new,
            new_attrs: live.attrs(Path::new(w.path)).expect("target attributes"),
            reported_at,
            backup: w.backup.map(|b| BackupExpect {
                path: Path::new(b),
                previous: w.initial.read(Path::new(b)),
                old_attrs: w.initial.attrs(Path::new(w.real)).expect("an old target"),
            }),
        },
    );
    Run {
        attrs: live.attrs(Path::new(w.path)).expect("target attributes"),
        log,
        verdict,
        images,
    }
}

/// Mounts each distinct crash state and reads the target through the kernel:
/// what a reboot would show. Returns the number of images mounted.
fn remount_all(w: &Workload, images: &[Image]) -> usize {
    for img in images {
        let mnt = Mounted::new(img.clone())
            .unwrap_or_else(|e| panic!("remounting a crash state failed: {e}"));
        let seen = fs::read(mnt.path.join(w.path)).ok();
        assert_eq!(
            seen.as_deref(),
            img.read(Path::new(w.path)),
            "{}: the remounted crash state reads differently from the model",
            w.name
        );
        if let (Ok(meta), Some((perm, uid, gid))) = (
            fs::metadata(mnt.path.join(w.path)),
            img.attrs(Path::new(w.path)),
        ) {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(
                (meta.mode() & 0o7777, meta.uid(), meta.gid()),
                (perm, uid, gid),
                "{}: the remounted crash state has other attributes than the model",
                w.name
            );
        }
        let want_ok = seen.as_deref() == w.old.as_deref() || seen.as_deref() == Some(&w.new[..]);
        assert!(
            want_ok,
            "{}: a remounted crash state holds neither old nor new content",
            w.name
        );
    }
    images.len()
}

fn row(w: &Workload, writer: &str, r: &Run, mounted: usize) {
    println!(
        "| {:<20} | {:<30} | {:>4} | {:>6} | {:>6} | {:>7} | {:>9} | {:<7} |",
        w.name,
        writer,
        r.log.len(),
        r.verdict.crash_points,
        r.verdict.states,
        mounted,
        r.verdict.max_leftovers,
        if r.verdict.ok() { "ok" } else { "FLAGGED" }
    );
    if let Some(first) = r.verdict.samples.first() {
        println!("|   e.g. {first}");
    }
}

fn header() {
    println!(
        "| workload             | writer                         |  ops | points | states | mounted | leftovers | verdict |"
    );
}

/// Every operation of a crate commit on this filesystem, for the figures.
fn describe(log: &[Op]) -> String {
    log.iter()
        .filter(|op| !matches!(op, Op::Write { .. }))
        .map(Op::describe)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Which temp the crate used, from the log.
fn temp_kind(log: &[Op]) -> &'static str {
    if log.iter().any(|op| matches!(op, Op::Tmpfile { .. })) {
        "O_TMPFILE"
    } else {
        "named"
    }
}

#[test]
#[ignore = "full suite: root, /dev/fuse"]
fn crate_writes_survive_power_loss_at_every_operation() {
    fuse_ready();
    header();
    let (mut runs, mut points, mut states, mut mounted) = (0, 0, 0, 0);
    // Per temp path: crash states checked, and those with a temp left behind.
    let mut leftovers = [(0, 0); 2];
    // Without O_TMPFILE on the model (the crate's named-temp fallback), then with it.
    for tmpfile in [false, true] {
        let mut workloads: Vec<(Workload, &str, Writer)> = Vec::new();
        for kind in [Kind::New, Kind::Overwrite, Kind::ViaSymlink] {
            for size in SIZES {
                workloads.push((workload(kind, size), "write_bytes", crate_write_bytes));
            }
        }
        let mut no_clobber_link = workload(Kind::New, 9000);
        no_clobber_link.refuse_rename_flags = true;
        workloads.extend([
            (append_workload(9000), "append", crate_append as Writer),
            (
                workload(Kind::Overwrite, 9000),
                "AtomicFile 3000 B",
                crate_streaming,
            ),
            (workload(Kind::New, 9000), "no_clobber", crate_no_clobber),
            (no_clobber_link, "no_clobber, link", crate_no_clobber),
            (
                dangling_symlink_workload(9000),
                "write_bytes",
                crate_write_bytes,
            ),
            (
                foreign_owner_workload(9000),
                "write_bytes",
                crate_write_bytes,
            ),
            (workload(Kind::ViaSymlink, 9000), "CLI", cli),
        ]);
        for (mut w, name, writer) in workloads {
            w.tmpfile = tmpfile;
            let r = run(&w, writer, Model::Strict);
            assert!(
                r.verdict.ok(),
                "{} / {name}: {:#?}",
                w.name,
                r.verdict.samples
            );
            let want = if tmpfile { "O_TMPFILE" } else { "named" };
            assert_eq!(temp_kind(&r.log), want, "{}: {}", w.name, describe(&r.log));
            // Crash states are checked against these attributes: anchor them.
            if matches!(w.name.split(' ').next(), Some("Overwrite" | "ViaSymlink")) {
                assert_eq!(r.attrs.0, 0o640, "{}: the old mode was not kept", w.name);
            }
            if w.name.starts_with("Owner1000") {
                assert_eq!(r.attrs, (0o2750, 1000, 1000), "owner and mode not kept");
            }
            if w.refuse_rename_flags {
                assert!(
                    r.log.iter().any(|op| matches!(op, Op::Link { .. })),
                    "the link fallback was not taken: {}",
                    describe(&r.log)
                );
            }
            let m = remount_all(&w, &r.images);
            row(&w, &format!("{name} ({want})"), &r, m);
            runs += 1;
            leftovers[usize::from(tmpfile)].0 += r.verdict.states;
            leftovers[usize::from(tmpfile)].1 += r.verdict.with_leftovers;
            points += r.verdict.crash_points;
            states += r.verdict.states;
            mounted += m;
        }
    }
    println!(
        "total: {runs} writes, {points} crash points, {states} crash states checked, {mounted} remounted"
    );
    for (path, (all, left)) in ["named", "O_TMPFILE"].iter().zip(leftovers) {
        println!("{path} temps: a temp left behind in {left} of {all} crash states");
    }
    for tmpfile in [false, true] {
        let mut w = workload(Kind::Overwrite, 9000);
        w.tmpfile = tmpfile;
        let r = run(&w, crate_write_bytes, Model::Strict);
        println!("operations of one overwrite: {}", describe(&r.log));
    }
}

#[test]
#[ignore = "full suite: root, /dev/fuse"]
fn harness_flags_broken_writers() {
    fuse_ready();
    header();
    let mut flagged = 0;
    for kind in [Kind::New, Kind::Overwrite] {
        for size in [1, 9000] {
            let w = workload(kind, size);

            let r = run(&w, broken_no_file_fsync, Model::Strict);
            row(&w, "no file fsync", &r, 0);
            assert!(
                r.verdict.torn > 0,
                "{}: missing file fsync not flagged",
                w.name
            );
            flagged += 1;

            let r = run(&w, broken_no_dir_fsync, Model::Strict);
            row(&w, "no dir fsync", &r, 0);
            assert!(
                r.verdict.lost > 0,
                "{}: missing directory fsync not flagged",
                w.name
            );
            assert_eq!(r.verdict.torn, 0, "{}: {:#?}", w.name, r.verdict.samples);
            flagged += 1;
            // A LazyFS-style model (directory changes durable at once) misses it.
            let lazy = run(&w, broken_no_dir_fsync, Model::EagerDirs);
            row(&w, "no dir fsync/eager", &lazy, 0);
            assert!(
                lazy.verdict.ok(),
                "{}: the eager model was expected to miss this",
                w.name
            );

            let r = run(&w, broken_mode_after_fsync, Model::Strict);
            row(&w, "mode after fsync", &r, 0);
            assert!(
                r.verdict.wrong_attrs > 0,
                "{}: unsynced mode change not flagged",
                w.name
            );
            flagged += 1;

            let r = run(&w, crate_durability_none, Model::Strict);
            row(&w, "Durability::None", &r, 0);
            assert!(!r.verdict.ok(), "{}: Durability::None not flagged", w.name);

            if kind == Kind::Overwrite {
                let r = run(&w, broken_truncate_in_place, Model::Strict);
                row(&w, "truncate in place", &r, 0);
                assert!(
                    r.verdict.torn > 0,
                    "{}: truncate-in-place not flagged",
                    w.name
                );
                flagged += 1;
                // Without early write-back the truncation would be invisible.
                let synced = run(&w, broken_truncate_in_place, Model::SyncedOnly);
                row(&w, "truncate/synced-only", &synced, 0);
                assert!(
                    synced.verdict.ok(),
                    "{}: the synced-only model was expected to miss this",
                    w.name
                );
            }
        }
    }
    println!("broken writer runs flagged: {flagged}");
}

/// A directory created just before the write: the write syncs the directory
/// it writes into, not that directory's own entry in its parent. Without a
/// sync of the parent the file is lost after reported success (a limit of
/// the guarantee, stated in README); with it, the write is durable. Or let
/// the write create the directory: `create_parents`, tested below.
#[test]
#[ignore = "full suite: root, /dev/fuse"]
fn a_fresh_directory_needs_its_parent_synced() {
    fuse_ready();
    fn mkdir_then_write(path: &Path, data: &[u8]) -> io::Result<()> {
        fs::create_dir(path.parent().expect("dir"))?;
        atomic_write::write_bytes(path, data)
    }
    fn mkdir_sync_parent_then_write(path: &Path, data: &[u8]) -> io::Result<()> {
        let dir = path.parent().expect("dir");
        fs::create_dir(dir)?;
        File::open(dir.parent().expect("parent"))?.sync_all()?;
        atomic_write::write_bytes(path, data)
    }
    let mut w = workload(Kind::New, 9000);
    w.initial = Image::new();
    w.name = "FreshDir 9000 B".into();
    header();
    let r = run(&w, mkdir_then_write, Model::Strict);
    row(&w, "mkdir, write_bytes", &r, 0);
    assert!(
        r.verdict.lost > 0,
        "expected the unsynced directory to lose the file"
    );
    assert_eq!(r.verdict.torn, 0, "{:#?}", r.verdict.samples);
    let r = run(&w, mkdir_sync_parent_then_write, Model::Strict);
    row(&w, "mkdir, sync, write", &r, 0);
    assert!(r.verdict.ok(), "{:#?}", r.verdict.samples);
}

/// `create_parents` / `-p`: the missing directories are created by the write
/// and made durable with it, so after reported success the file is there in
/// every crash state, one directory deep or three. `create_dir_all` followed
/// by a plain write is the control: it loses the file.
#[test]
#[ignore = "full suite: root, /dev/fuse"]
fn create_parents_makes_fresh_directories_durable() {
    fuse_ready();
    fn create_dir_all_then_write(path: &Path, data: &[u8]) -> io::Result<()> {
        fs::create_dir_all(path.parent().expect("dir"))?;
        atomic_write::write_bytes(path, data)
    }
    header();
    for tmpfile in [false, true] {
        for path in ["d/file", "p/q/r/file"] {
            let mut w = workload(Kind::New, 9000);
            w.initial = Image::new();
            w.path = path;
            w.real = path;
            w.tmpfile = tmpfile;
            w.name = format!("FreshDirs {}", path.matches('/').count());
            let control = run(&w, create_dir_all_then_write, Model::Strict);
            row(&w, "create_dir_all, write_bytes", &control, 0);
            assert!(
                control.verdict.lost > 0,
                "{}: expected unsynced directories to lose the file",
                w.name
            );
            for (name, writer) in [
                ("create_parents", crate_parents as Writer),
                ("CLI -p", cli_parents),
            ] {
                let r = run(&w, writer, Model::Strict);
                let mounted = remount_all(&w, &r.images);
                row(&w, &format!("{name} ({})", temp_kind(&r.log)), &r, mounted);
                assert!(
                    r.verdict.ok(),
                    "{} / {name}: {:#?}",
                    w.name,
                    r.verdict.samples
                );
                let mkdirs = r
                    .log
                    .iter()
                    .filter(|op| op.describe().starts_with("mkdir"))
                    .count();
                assert_eq!(mkdirs, path.matches('/').count(), "{}", describe(&r.log));
            }
        }
    }
}

/// `backup` / `--backup`: in every crash state the target is old with the
/// previous or the old content as backup, or new with the old content (and
/// the old file's mode and owner) as backup; after reported success, new with
/// its backup. On the model with hard links (the backup is the old inode) and
/// without (a synced copy).
#[test]
#[ignore = "full suite: root, /dev/fuse"]
fn backups_survive_power_loss_at_every_operation() {
    fuse_ready();
    header();
    let (mut runs, mut states) = (0, 0);
    for tmpfile in [false, true] {
        let mut workloads: Vec<(Workload, &str, Writer)> = vec![
            (backup_workload(0, false), "backup", crate_backup),
            (backup_workload(9000, false), "backup", crate_backup),
            (backup_workload(9000, false), "CLI --backup", cli_backup),
            (
                backup_workload(9000, false),
                "backup, commit_if_changed",
                crate_if_changed,
            ),
        ];
        if !tmpfile {
            // Without hard links an O_TMPFILE temp cannot be named either.
            workloads.push((backup_workload(9000, true), "backup (copy)", crate_backup));
            workloads.push((backup_workload(1, true), "backup (copy)", crate_backup));
        }
        for (mut w, name, writer) in workloads {
            w.tmpfile = tmpfile;
            let r = run(&w, writer, Model::Strict);
            let mounted = remount_all(&w, &r.images);
            row(&w, &format!("{name} ({})", temp_kind(&r.log)), &r, mounted);
            assert!(
                r.verdict.ok(),
                "{} / {name}: {:#?}",
                w.name,
                r.verdict.samples
            );
            // The backup is a link to the old inode, or (without links) a copy.
            let old_ino = w.initial.lookup_path(Path::new(w.real), false);
            let linked = r
                .log
                .iter()
                .any(|op| matches!(op, Op::Link { ino, .. } if Some(*ino) == old_ino));
            assert_eq!(linked, !w.refuse_links, "{}", describe(&r.log));
            runs += 1;
            states += r.verdict.states;
        }
    }
    println!("backups: {runs} writes, {states} crash states checked");
}

/// `commit_if_changed` with the same content: no sync, no rename, no link
/// (so no backup) reaches the filesystem; with `O_TMPFILE`, nothing but the
/// unnamed temp.
#[test]
#[ignore = "full suite: root, /dev/fuse"]
fn if_changed_with_the_same_content_changes_nothing() {
    fuse_ready();
    for tmpfile in [false, true] {
        let mut w = backup_workload(9000, false);
        w.tmpfile = tmpfile;
        w.input = w.old.clone().expect("old");
        w.new = w.input.clone();
        let r = run(&w, crate_if_changed, Model::Strict);
        // A named temp is created (and removed) before the content is known;
        // nothing else happens.
        let touched = r.log.iter().any(|op| {
            matches!(
                op,
                Op::Fsync { .. } | Op::FsyncDir { .. } | Op::Rename { .. } | Op::Link { .. }
            )
        });
        assert!(!touched, "{}", describe(&r.log));
        if tmpfile {
            // Only the unnamed temp, gone when closed.
            let unnamed = r
                .log
                .iter()
                .all(|op| matches!(op, Op::Tmpfile { .. } | Op::Write { .. }));
            assert!(unnamed, "{}", describe(&r.log));
        }
        assert!(r.verdict.ok());
    }
}

/// The backup oracle flags the classic backups: an unsynced copy
/// (`cp file file~`: the new target with a partial backup), a move
/// (`mv file file~`: no target at all), and none (the new target beside the
/// previous backup).
#[test]
#[ignore = "full suite: root, /dev/fuse"]
fn harness_flags_broken_backups() {
    fuse_ready();
    header();
    let w = backup_workload(9000, false);
    let r = run(&w, broken_backup_unsynced_copy, Model::Strict);
    row(&w, "cp file file~, write", &r, 0);
    assert!(r.verdict.bad_backup > 0, "{:#?}", r.verdict);
    let r = run(&w, broken_backup_by_move, Model::Strict);
    row(&w, "mv file file~, write", &r, 0);
    assert!(r.verdict.torn > 0, "{:#?}", r.verdict);
    let r = run(&w, crate_write_bytes, Model::Strict);
    row(&w, "no backup", &r, 0);
    assert!(r.verdict.bad_backup > 0, "{:#?}", r.verdict);
}

/// `commit_all`: three files, two directories. Each target is old or new in
/// every crash state, and new in all of them once `commit_all` returned.
#[test]
#[ignore = "full suite: root, /dev/fuse"]
fn commit_all_survives_power_loss_at_every_operation() {
    fuse_ready();
    for tmpfile in [false, true] {
        commit_all_case(tmpfile, false);
        commit_all_case(tmpfile, true);
    }
}

/// With `fail_second`, renaming the second file fails: the first target is
/// already replaced (and, as documented, its directory still synced, so it is
/// durable once `commit_all` returned its error); the others stay old.
fn commit_all_case(tmpfile: bool, fail_second: bool) {
    let mut initial = Image::new();
    initial.add("d", Inode::dir(0o755));
    initial.add("e", Inode::dir(0o755));
    let old_a = content(5000, 10);
    let old_c = content(3000, 11);
    initial.add("d/a", Inode::file(&old_a, 0o640));
    initial.add("e/c", Inode::file(&old_c, 0o600));
    // (path, old content, new content)
    type Target<'a> = (&'a str, Option<&'a [u8]>, Vec<u8>);
    let targets: [Target; 3] = [
        ("d/a", Some(&old_a), content(9000, 12)),
        ("d/b", None, content(1, 13)),
        ("e/c", Some(&old_c), content(70_000, 14)),
    ];
    let mnt = Mounted::mount(initial.clone(), tmpfile)
        .unwrap_or_else(|e| panic!("mounting the model filesystem failed: {e}"));
    if fail_second {
        mnt.fail_rename_to("b", libc::EIO);
    }
    let files = targets
        .iter()
        .map(|(p, _, new)| {
            let mut f = AtomicFile::create(mnt.path.join(p))?;
            f.write_all(new)?;
            Ok(f)
        })
        .collect::<io::Result<Vec<_>>>()
        .expect("create the batch");
    let result = atomic_write::commit_all(files);
    assert_eq!(
        result.is_err(),
        fail_second,
        "commit_all on the model filesystem: {result:?}"
    );
    let reported_at = Some(mnt.ops());
    let live = mnt.image();
    let log = mnt.unmount();
    let (mut points, mut states) = (0, 0);
    for (i, (p, old, new)) in targets.iter().enumerate() {
        let path = Path::new(p);
        if fail_second && i > 0 {
            // Not replaced: the target is old in the live state and in every
            // crash state, and its temp is gone.
            assert_eq!(live.read(path), *old, "{p}");
            let (v, _) = check(
                &initial,
                &log,
                Model::Strict,
                &Expect {
                    path,
                    real: path,
                    old: *old,
                    new: b"never written: any new content is wrong",
                    new_attrs: (0, 0, 0),
                    reported_at: None,
                    backup: None,
                },
            );
            assert!(v.ok(), "{p}: {:#?}", v.samples);
            states += v.states;
            continue;
        }
        assert_eq!(live.read(path), Some(&new[..]), "{p}");
        let (v, _) = check(
            &initial,
            &log,
            Model::Strict,
            &Expect {
                path,
                real: path,
                old: *old,
                new,
                new_attrs: live.attrs(path).expect("attributes"),
                reported_at,
                backup: None,
            },
        );
        assert!(v.ok(), "{p}: {:#?}", v.samples);
        points = v.crash_points;
        states += v.states;
    }
    println!(
        "commit_all of 3 files in 2 directories ({} temps{}): {} operations, {points} crash \
         points, {states} target states checked ({})",
        temp_kind(&log),
        if fail_second {
            ", second rename fails"
        } else {
            ""
        },
        log.len(),
        describe(&log)
    );
}

/// A failing sync on the model: the write fails (never a false success), a
/// failed file sync is never followed by a rename, and every crash state
/// still holds the old or the new content.
#[test]
#[ignore = "full suite: root, /dev/fuse"]
fn failed_syncs_are_reported_and_keep_the_old_content() {
    fuse_ready();
    let cases = [(Some(libc::EIO), None), (None, Some(libc::EIO))];
    for ((file, dir), tmpfile) in cases.into_iter().flat_map(|c| [(c, false), (c, true)]) {
        let w = workload(Kind::Overwrite, 9000);
        let mnt = Mounted::mount(w.initial.clone(), tmpfile)
            .unwrap_or_else(|e| panic!("mounting the model filesystem failed: {e}"));
        mnt.fail_syncs(file, dir);
        let err = crate_write_bytes(&mnt.path.join(w.path), &w.input)
            .expect_err("a failed sync must fail the write");
        assert_eq!(atomic_write::os_error(&err), Some(libc::EIO), "{err}");
        assert_eq!(mnt.failed_syncs(), 1, "a failed sync must not be retried");
        let live = mnt.image();
        let log = mnt.unmount();
        let renamed = log.iter().any(|op| matches!(op, Op::Rename { .. }));
        if file.is_some() {
            assert!(!renamed, "renamed after a failed fsync: {}", describe(&log));
            assert!(
                !log.iter().any(|op| matches!(op, Op::Link { .. })),
                "linked after a failed fsync: {}",
                describe(&log)
            );
            assert_eq!(live.read(Path::new(w.path)), w.old.as_deref());
            let d = live.lookup_path(Path::new("d"), true).unwrap();
            assert_eq!(
                live.inodes[&d].entries().unwrap().len(),
                1,
                "temp left behind"
            );
        } else {
            assert!(renamed, "{}", describe(&log));
        }
        let (v, _) = check(
            &w.initial,
            &log,
            Model::Strict,
            &Expect {
                path: Path::new(w.path),
                real: Path::new(w.real),
                old: w.old.as_deref(),
                new: &w.new,
                new_attrs: (0o640, 0, 0),
                reported_at: None,
                backup: None,
            },
        );
        assert!(v.ok(), "{:#?}", v.samples);
        println!(
            "fsync {} fails with EIO ({} temp): write fails with \"{err}\"; {} crash states \
             old-or-new",
            if file.is_some() {
                "of the file"
            } else {
                "of the directory"
            },
            temp_kind(&log),
            v.states
        );
    }
}

/// The replay rules on hand-written logs: runs without root or FUSE.
#[test]
fn model_rules_on_hand_written_logs() {
    let mut initial = Image::new();
    let dir = initial.add("d", Inode::dir(0o755));
    initial.add("d/f", Inode::file(b"old", 0o644));
    let create = Op::Create {
        parent: dir,
        name: "t".into(),
        ino: 100,
        inode: Inode::file(b"", 0o644),
    };
    let write = Op::Write {
        ino: 100,
        offset: 0,
        data: b"new!".to_vec(),
    };
    let fsync = Op::Fsync {
        ino: 100,
        datasync: false,
    };
    let rename = Op::Rename {
        parent: dir,
        name: "t".into(),
        newparent: dir,
        newname: "f".into(),
    };
    let fsyncdir = Op::FsyncDir { ino: dir };
    let verdict = |log: &[Op], model| {
        let want = Expect {
            path: Path::new("d/f"),
            real: Path::new("d/f"),
            old: Some(b"old"),
            new: b"new!",
            new_attrs: (0o644, 0, 0),
            reported_at: Some(log.len()),
            backup: None,
        };
        check(&initial, log, model, &want).0
    };
    let good = [
        create.clone(),
        write.clone(),
        fsync.clone(),
        rename.clone(),
        fsyncdir.clone(),
    ];
    for model in [Model::Strict, Model::SyncedOnly, Model::EagerDirs] {
        let v = verdict(&good, model);
        assert!(v.ok(), "{model:?}: {:#?}", v.samples);
    }
    let v = verdict(&good, Model::Strict);
    assert_eq!(v.crash_points, 6);
    assert_eq!(
        v.max_leftovers, 1,
        "a crash after the create leaves the temp"
    );

    let no_fsync = [
        create.clone(),
        write.clone(),
        rename.clone(),
        fsyncdir.clone(),
    ];
    assert!(verdict(&no_fsync, Model::Strict).torn > 0);
    let no_dirsync = [create.clone(), write.clone(), fsync.clone(), rename.clone()];
    let v = verdict(&no_dirsync, Model::Strict);
    assert!(v.lost > 0 && v.torn == 0, "{v:?}");
    assert!(verdict(&no_dirsync, Model::EagerDirs).ok());

    let target = initial.lookup_path(Path::new("d/f"), false).unwrap();
    let truncate = [
        Op::SetAttr {
            ino: target,
            perm: None,
            uid: None,
            gid: None,
            size: Some(0),
        },
        Op::Write {
            ino: target,
            offset: 0,
            data: b"new!".to_vec(),
        },
        Op::Fsync {
            ino: target,
            datasync: false,
        },
    ];
    assert!(verdict(&truncate, Model::Strict).torn > 0);
    assert!(verdict(&truncate, Model::SyncedOnly).ok());
}
