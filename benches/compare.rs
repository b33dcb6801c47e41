//! One-shot overwrites side by side — the hand-written floor, this crate and
//! its peers — on tmpfs (where only syscall overhead shows) and on the disk
//! under `target/`, then batch commits. Ends with a table of medians and
//! ratios against the floor.
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
use std::time::Duration;

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
const WRITERS: [(&str, Writer); 6] = [
    ("floor", floor),
    ("write_bytes", crate_write_bytes),
    ("AtomicFile", crate_atomic_file),
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

fn crate_write_bytes(path: &Path, data: &[u8]) {
    atomic_write::write_bytes(path, data).unwrap();
}

fn crate_atomic_file(path: &Path, data: &[u8]) {
    let mut f = atomic_write::AtomicFile::create(path).unwrap();
    f.write_all(data).unwrap();
    f.commit().unwrap();
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
            .args(["-t", "tmpfs", "-o", "size=512m", "aw-bench"])
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
    g.sample_size(20);
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
    // By hand, without syncfs: write all, fsync each, rename all, fsync the
    // directory once. What commit_all would cost with an fsync per file.
    g.bench_function("fsync each, one dir fsync", |b| {
        b.iter(|| {
            let temps: Vec<(PathBuf, File)> = (0..BATCH)
                .map(|i| {
                    let tmp = dir.join(format!(".f{i:03}.tmp"));
                    let mut f = File::create(&tmp).unwrap();
                    f.write_all(&data).unwrap();
                    (tmp, f)
                })
                .collect();
            for (_, f) in &temps {
                f.sync_all().unwrap();
            }
            for (i, (tmp, _)) in temps.iter().enumerate() {
                fs::rename(tmp, dir.join(format!("f{i:03}"))).unwrap();
            }
            File::open(&dir).unwrap().sync_all().unwrap();
        })
    });
    g.finish();
    let _ = fs::remove_dir_all(&dir);
}

/// The median point estimate (ns) criterion saved for a benchmark, if any.
fn median(criterion_dir: &Path, group: &str, id: &str) -> Option<f64> {
    let dir = |s: &str| s.replace(['/', ' '], "_");
    let mut p = criterion_dir.join(dir(group));
    for part in id.split('/') {
        p.push(dir(part));
    }
    let json = fs::read_to_string(p.join("new/estimates.json")).ok()?;
    let rest = &json[json.find("\"median\"")?..];
    let rest = &rest[rest.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

fn fmt_time(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.1} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

/// Prints the medians of this run as a Markdown table, ratios against the floor.
fn summary(criterion_dir: &Path) {
    println!(
        "\n| filesystem, size | {} |",
        WRITERS.map(|w| w.0).join(" | ")
    );
    println!("|---|{}", "---:|".repeat(WRITERS.len()));
    for fs_name in ["tmpfs", "disk"] {
        for (_, label) in SIZES {
            let group = format!("{fs_name} {label}");
            let meds: Vec<Option<f64>> = WRITERS
                .iter()
                .map(|(name, _)| median(criterion_dir, &group, &format!("{name}/{label}")))
                .collect();
            let Some(floor) = meds[0] else { continue };
            let cells: Vec<String> = meds
                .iter()
                .map(|m| match m {
                    Some(m) => format!("{} ({:.2}×)", fmt_time(*m), m / floor),
                    None => "–".into(),
                })
                .collect();
            println!("| {group} | {} |", cells.join(" | "));
        }
    }
    let group = format!("disk batch {BATCH}x4KiB");
    let all = median(criterion_dir, &group, "commit_all");
    let seq = median(criterion_dir, &group, "sequential commit");
    let each = median(criterion_dir, &group, "fsync each, one dir fsync");
    if let (Some(all), Some(seq), Some(each)) = (all, seq, each) {
        println!(
            "\n| {group} | commit_all | sequential commit | fsync each, one dir fsync |\n|---|---:|---:|---:|\n| median | {} | {} ({:.2}×) | {} ({:.2}×) |",
            fmt_time(all),
            fmt_time(seq),
            seq / all,
            fmt_time(each),
            each / all
        );
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let base = root.join("bench-scratch");
    fs::create_dir_all(&base).unwrap();
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    {
        let tmpfs = Tmpfs::new(&base);
        one_shot(&mut c, "tmpfs", &tmpfs.dir);
    }
    let disk = base.join("disk");
    one_shot(&mut c, "disk", &disk);
    batch(&mut c, &disk);
    let _ = fs::remove_dir_all(&disk);
    c.final_summary();
    summary(
        &std::env::var_os("CARGO_TARGET_DIR")
            .map_or(root, PathBuf::from)
            .join("criterion"),
    );
}
