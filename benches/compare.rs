//! One-shot overwrites side by side — the hand-written floor, this crate and
//! its peers — on tmpfs (where only syscall overhead shows) and on the disk
//! under `target/`, then batch commits: first criterion's own measurements,
//! then tables of medians from an interleaved run (every contender one
//! operation per round, so the load of a shared machine hits all alike), with
//! ratios against the floor. The tables are what BENCHMARKS.md quotes (README the first).
//!
//! ```text
//! cargo bench --bench compare                 # everything, a few minutes
//! cargo bench --bench compare -- 'tmpfs 4KiB' # a filter, as criterion takes
//! ```
//!
//! Every implementation overwrites an existing file of mode 0640 (inside the
//! usual umask) with the same bytes, syncing data and directory.
#![allow(missing_docs)]

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};

const SIZES: [(usize, &str); 4] = [
    (0, "0B"),
    (4 << 10, "4KiB"),
    (1 << 20, "1MiB"),
    (64 << 20, "64MiB"),
];
const BATCH: usize = 100;

type Writer = fn(&Path, &[u8]);

/// The implementations compared, floor first.
const WRITERS: [(&str, Writer); 9] = [
    ("floor", floor),
    ("O_TMPFILE floor", tmpfile_floor),
    ("SPEC floor", spec_floor),
    ("write_bytes", crate_write_bytes),
    ("AtomicFile", crate_atomic_file),
    ("named temp", crate_named_temp),
    ("atomic-write-file", atomic_write_file),
    ("atomicwrites", atomicwrites),
    ("tempfile", tempfile_persist),
];

/// By hand, with the same guarantees and nothing more: temp beside the target,
/// write, fsync, rename, fsync the directory. Mode and owner are not kept.
fn floor(path: &Path, data: &[u8]) {
    let tmp = path.with_extension("floor-tmp");
    let mut f = File::create(&tmp).unwrap();
    f.write_all(data).unwrap();
    f.sync_all().unwrap();
    drop(f);
    fs::rename(&tmp, path).unwrap();
    File::open(path.parent().unwrap())
        .unwrap()
        .sync_all()
        .unwrap();
}

/// The floor with SPEC §3's unnamed temp: `O_TMPFILE` in the directory, write,
/// fsync, `linkat` to a hidden name, rename, fsync the directory. No checks.
fn tmpfile_floor(path: &Path, data: &[u8]) {
    by_hand::write(path, data, false);
}

/// The fewest calls that do what SPEC asks of this overwrite, and no more:
/// [`tmpfile_floor`] plus the target's `lstat` (§4: its mode and owner), the
/// listing of its extended attributes by name (§10: kept), the temp's `fstat`
/// (§4: did the umask or a default ACL narrow its mode?) and its access ACL
/// (§10: one inherited from the directory is not the old file's). Without
/// what this crate adds on top: the directory's `fstat` that makes a listing
/// by name safe, and the temp's `flock` that `sweep` reads. A lower bound:
/// it neither acts on what it reads nor checks a result.
fn spec_floor(path: &Path, data: &[u8]) {
    by_hand::write(path, data, true);
}

/// The by-hand `O_TMPFILE` writers.
#[allow(unsafe_code)]
mod by_hand {
    use std::ffi::CString;
    use std::fs::{File, OpenOptions};
    use std::io::Write;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    use std::path::Path;

    pub(super) fn write(path: &Path, data: &[u8], checks: bool) {
        let parent = path.parent().unwrap();
        let dir = File::open(parent).unwrap();
        let name = CString::new(path.file_name().unwrap().as_bytes()).unwrap();
        // SAFETY: `stat` is plain data; all zeroes is a valid value.
        let mut st = unsafe { std::mem::zeroed::<libc::stat>() };
        if checks {
            let mut list = [0u8; 256];
            // SAFETY: a valid descriptor, a NUL-terminated name, buffers of
            // the sizes given.
            unsafe {
                assert_eq!(
                    libc::fstatat(
                        dir.as_raw_fd(),
                        name.as_ptr(),
                        &mut st,
                        libc::AT_SYMLINK_NOFOLLOW
                    ),
                    0
                );
                // listxattrat(2), Linux 6.13: by name, without following a link.
                libc::syscall(
                    465,
                    dir.as_raw_fd(),
                    name.as_ptr(),
                    libc::AT_SYMLINK_NOFOLLOW,
                    list.as_mut_ptr(),
                    list.len(),
                );
            }
        }
        let mut temp = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .mode(0o640)
            .open(parent)
            .unwrap();
        temp.write_all(data).unwrap();
        if checks {
            // SAFETY: a valid descriptor, a NUL-terminated name, no buffer
            // (size 0), and a `stat` to fill.
            unsafe {
                libc::fgetxattr(
                    temp.as_raw_fd(),
                    c"system.posix_acl_access".as_ptr(),
                    std::ptr::null_mut(),
                    0,
                );
                assert_eq!(libc::fstat(temp.as_raw_fd(), &mut st), 0);
            }
        }
        temp.sync_all().unwrap();
        let hidden = c".by-hand.tmp";
        // SAFETY: valid descriptors and NUL-terminated names.
        unsafe {
            assert_eq!(
                libc::linkat(
                    temp.as_raw_fd(),
                    c"".as_ptr(),
                    dir.as_raw_fd(),
                    hidden.as_ptr(),
                    libc::AT_EMPTY_PATH
                ),
                0,
                "linkat: {}",
                std::io::Error::last_os_error()
            );
            assert_eq!(
                libc::renameat(
                    dir.as_raw_fd(),
                    hidden.as_ptr(),
                    dir.as_raw_fd(),
                    name.as_ptr()
                ),
                0
            );
        }
        dir.sync_all().unwrap();
    }
}

fn crate_write_bytes(path: &Path, data: &[u8]) {
    atomic_write::write_bytes(path, data).unwrap();
}

fn crate_atomic_file(path: &Path, data: &[u8]) {
    let mut f = atomic_write::AtomicFile::create(path).unwrap();
    f.write_all(data).unwrap();
    f.commit().unwrap();
}

/// `write_bytes` with the named-temp fallback instead of `O_TMPFILE`: shows
/// what the unnamed temp (and its `linkat`) costs.
fn crate_named_temp(path: &Path, data: &[u8]) {
    atomic_write::Options::new()
        .unnamed_temp(false)
        .write_bytes(path, data)
        .unwrap();
}

fn atomic_write_file(path: &Path, data: &[u8]) {
    let mut f = atomic_write_file::AtomicWriteFile::open(path).unwrap();
    f.write_all(data).unwrap();
    f.commit().unwrap();
}

fn atomicwrites(path: &Path, data: &[u8]) {
    atomicwrites::AtomicFile::new(path, atomicwrites::AllowOverwrite)
        .write(|f| f.write_all(data))
        .unwrap();
}

/// tempfile's recipe, plus the directory fsync it leaves to the caller
/// (mode not kept: the result is 0600).
fn tempfile_persist(path: &Path, data: &[u8]) {
    let dir = path.parent().unwrap();
    let mut t = tempfile::NamedTempFile::new_in(dir).unwrap();
    t.write_all(data).unwrap();
    t.as_file().sync_all().unwrap();
    t.persist(path).unwrap();
    File::open(dir).unwrap().sync_all().unwrap();
}

/// A tmpfs for the run: mounted (and unmounted on drop) when root, else /dev/shm.
struct Tmpfs {
    dir: PathBuf,
    mounted: bool,
}

impl Tmpfs {
    fn new(base: &Path) -> Tmpfs {
        let dir = base.join("tmpfs");
        fs::create_dir_all(&dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1g", "aw-bench"])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            return Tmpfs { dir, mounted };
        }
        let dir = Path::new("/dev/shm").join(format!("aw-bench-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        Tmpfs {
            dir,
            mounted: false,
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(&self.dir).status();
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A fresh directory holding `target.dat`, 0640, for each implementation.
fn prepare(base: &Path, name: &str) -> PathBuf {
    let dir = base.join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let target = dir.join("target.dat");
    fs::write(&target, b"old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    target
}

fn one_shot(c: &mut Criterion, fs_name: &str, base: &Path) {
    for (size, label) in SIZES {
        let data = vec![0x5a_u8; size];
        let mut g = c.benchmark_group(format!("{fs_name} {label}"));
        g.throughput(Throughput::Bytes(size as u64));
        if size >= 64 << 20 {
            g.sample_size(10)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(if fs_name == "disk" { 8 } else { 4 }));
        }
        for (name, write) in WRITERS {
            let target = prepare(base, name);
            g.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter(|| write(&target, &data))
            });
            let _ = fs::remove_dir_all(target.parent().unwrap());
        }
        g.finish();
    }
}

/// Makes the `BATCH` open files of one batch.
fn batch_files(dir: &Path, data: &[u8]) -> Vec<atomic_write::AtomicFile> {
    (0..BATCH)
        .map(|i| {
            let mut f = atomic_write::AtomicFile::create(dir.join(format!("f{i:03}"))).unwrap();
            f.write_all(data).unwrap();
            f
        })
        .collect()
}

fn batch(c: &mut Criterion, base: &Path) {
    let data = vec![0x5a_u8; 4 << 10];
    let dir = base.join("batch");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let mut g = c.benchmark_group(format!("disk batch {BATCH}x4KiB"));
    g.sample_size(10);
    g.bench_function("commit_all", |b| {
        b.iter(|| atomic_write::commit_all(batch_files(&dir, &data)).unwrap())
    });
    g.bench_function("sequential commit", |b| {
        b.iter(|| {
            for f in batch_files(&dir, &data) {
                f.commit().unwrap();
            }
        })
    });
    g.bench_function("fsync each, one dir fsync", |b| {
        b.iter(|| fsync_each(&dir, &data, false))
    });
    g.finish();
    let _ = fs::remove_dir_all(&dir);
}

/// Medians of an interleaved run: round after round, every contender does one
/// operation, in an order shuffled each round, so the load of a shared
/// machine falls on all of them alike, and none always runs after the same
/// other (two of this crate's writers in a row would find the second's code
/// in the caches the first warmed). Runs for about `budget` (10 rounds at
/// least). Returns the median nanoseconds per operation of each contender.
fn interleaved(contenders: &mut [&mut dyn FnMut()], budget: Duration) -> Vec<f64> {
    let n = contenders.len();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    let start = Instant::now();
    let mut round = 0;
    let mut order: Vec<usize> = (0..n).collect();
    // xorshift64: a fixed, cheap sequence of shuffles.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    while round < 10 || (start.elapsed() < budget && round < 20_000) {
        for k in (1..n).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(k, (state % (k as u64 + 1)) as usize);
        }
        for &i in &order {
            let t = Instant::now();
            (contenders[i])();
            samples[i].push(t.elapsed().as_nanos() as f64);
        }
        round += 1;
    }
    samples
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect()
}

/// `ATOMIC_WRITE_BENCH_SCALE` (default 1) stretches the interleaved runs: on a
/// busy machine, `4` gives steadier medians.
fn budget_scale() -> f64 {
    std::env::var("ATOMIC_WRITE_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0)
}

fn fmt_time(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.1} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

/// The one-shot table: every writer interleaved with the floor, per
/// filesystem and size; medians and their ratio to the floor's.
fn one_shot_table(places: &[(&str, &Path)], filter: &str) {
    println!(
        "\n| filesystem, size | {} |",
        WRITERS.map(|w| w.0).join(" | ")
    );
    println!("|---|{}", "---:|".repeat(WRITERS.len()));
    for &(fs_name, base) in places {
        for (size, label) in SIZES {
            let group = format!("{fs_name} {label}");
            if !group.contains(filter) {
                continue;
            }
            let data = vec![0x5a_u8; size];
            let targets: Vec<PathBuf> = WRITERS.iter().map(|(n, _)| prepare(base, n)).collect();
            let mut closures: Vec<Box<dyn FnMut()>> = WRITERS
                .iter()
                .zip(&targets)
                .map(|((_, write), target)| {
                    let data = &data;
                    Box::new(move || write(target, data)) as Box<dyn FnMut()>
                })
                .collect();
            let mut refs: Vec<&mut dyn FnMut()> = closures
                .iter_mut()
                .map(|c| c.as_mut() as &mut dyn FnMut())
                .collect();
            let budget =
                Duration::from_secs_f64(budget_scale() * if size >= 64 << 20 { 8.0 } else { 3.0 });
            let meds = interleaved(&mut refs, budget);
            let cells: Vec<String> = meds
                .iter()
                .map(|m| format!("{} ({:.2}×)", fmt_time(*m), m / meds[0]))
                .collect();
            println!("| {group} | {} |", cells.join(" | "));
            for t in &targets {
                let _ = fs::remove_dir_all(t.parent().unwrap());
            }
        }
    }
}

/// The batch table: commit_all (what it does on this kernel, then each data
/// sync scheme forced) interleaved with sequential commits and the by-hand
/// recipes, one of them with `renameat2(RENAME_EXCHANGE)` (what a batch that
/// could roll back on error would cost).
fn batch_table(disk: &Path) {
    use atomic_write::{commit_all_with, BatchSync};
    let data = vec![0x5a_u8; 4 << 10];
    let dir = disk.join("batch-table");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let scheme =
        |how| move || commit_all_with(batch_files(&dir_of(disk), &data_of()), how).unwrap();
    let mut auto = scheme(BatchSync::Auto);
    let mut syncfs = scheme(BatchSync::Syncfs);
    let mut write_fsync = scheme(BatchSync::WriteThenFsync);
    let mut fsync_each_scheme = scheme(BatchSync::FsyncEach);
    let mut seq = || {
        for f in batch_files(&dir, &data) {
            f.commit().unwrap();
        }
    };
    let mut each = || fsync_each(&dir, &data, false);
    let mut exchange = || fsync_each(&dir, &data, true);
    let names = [
        "commit_all (this kernel)",
        "commit_all, syncfs",
        "commit_all, sync_file_range(WRITE) + fsync each",
        "commit_all, fsync each",
        "100 × commit",
        "by hand: fsync each, rename, one dir fsync",
        "by hand, RENAME_EXCHANGE + unlink of the old",
    ];
    let meds = interleaved(
        &mut [
            &mut auto,
            &mut syncfs,
            &mut write_fsync,
            &mut fsync_each_scheme,
            &mut seq,
            &mut each,
            &mut exchange,
        ],
        Duration::from_secs_f64(budget_scale() * 20.0),
    );
    println!("\n| disk, {BATCH} × 4 KiB, one directory | median | 100 × commit ÷ this |\n|---|---:|---:|");
    for (name, m) in names.iter().zip(&meds) {
        println!("| {name} | {} | {:.2}× |", fmt_time(*m), meds[4] / m);
    }
    let _ = fs::remove_dir_all(&dir);
}

fn dir_of(disk: &Path) -> PathBuf {
    disk.join("batch-table")
}

fn data_of() -> Vec<u8> {
    vec![0x5a_u8; 4 << 10]
}

/// By hand, without syncfs: write all, fsync each, rename all, fsync the
/// directory once. What commit_all would cost with an fsync per file. With
/// `exchange`, each existing target is swapped with its temp
/// (`renameat2(RENAME_EXCHANGE)`, so the old version survives under the
/// temp's name until the batch is done, for a rollback on error), and the old
/// versions are unlinked after the directory sync.
fn fsync_each(dir: &Path, data: &[u8], exchange: bool) {
    let temps: Vec<(PathBuf, File)> = (0..BATCH)
        .map(|i| {
            let tmp = dir.join(format!(".f{i:03}.tmp"));
            let mut f = File::create(&tmp).unwrap();
            f.write_all(data).unwrap();
            (tmp, f)
        })
        .collect();
    for (_, f) in &temps {
        f.sync_all().unwrap();
    }
    for (i, (tmp, _)) in temps.iter().enumerate() {
        let target = dir.join(format!("f{i:03}"));
        if exchange && target.exists() {
            exchange_paths(tmp, &target);
        } else {
            fs::rename(tmp, target).unwrap();
        }
    }
    File::open(dir).unwrap().sync_all().unwrap();
    if exchange {
        for (tmp, _) in &temps {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// `renameat2(a, b, RENAME_EXCHANGE)`.
fn exchange_paths(a: &Path, b: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes()).unwrap();
    let b = std::ffi::CString::new(b.as_os_str().as_bytes()).unwrap();
    // SAFETY: both are valid C strings; the raw syscall takes them as paths.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    assert_eq!(r, 0, "renameat2: {}", std::io::Error::last_os_error());
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let base = root.join("bench-scratch");
    fs::create_dir_all(&base).unwrap();
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    // The first free argument, if any, filters the tables as it filters criterion.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let tmpfs = Tmpfs::new(&base);
    let disk = base.join("disk");
    // `ATOMIC_WRITE_BENCH_TABLES_ONLY=1`: skip criterion, print the tables.
    if std::env::var_os("ATOMIC_WRITE_BENCH_TABLES_ONLY").is_none() {
        one_shot(&mut c, "tmpfs", &tmpfs.dir);
        one_shot(&mut c, "disk", &disk);
        batch(&mut c, &disk);
        c.final_summary();
    }
    if !std::env::args().any(|a| a == "--list" || a == "--test") {
        println!("\nInterleaved medians (ratio to the floor):");
        one_shot_table(&[("tmpfs", &tmpfs.dir), ("disk", &disk)], &filter);
        if "disk batch".contains(&filter) || filter.contains("batch") {
            batch_table(&disk);
        }
    }
    drop(tmpfs);
    let _ = fs::remove_dir_all(&disk);
}
