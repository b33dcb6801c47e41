//! A model of [`AtomicFile`] operation sequences, checked against the real
//! thing after every step.
//!
//! Shared by the proptest state-machine test (`tests/model.rs`) and the `ops`
//! fuzz target (`fuzz/fuzz_targets/ops.rs`, which includes this file by path):
//! they only differ in how they generate a [`Case`].
//!
//! A case is a directory of [`SLOTS`] names, each initially absent, a regular
//! file, a symlink (to another slot, by relative or absolute path, or into a
//! missing directory), a directory or a FIFO; then a sequence of operations on
//! up to [`MAX_HANDLES`] live `AtomicFile`s. The model predicts every result,
//! and after every step the directory must hold exactly what the model says:
//! the same names, contents, modes and link targets, plus one hidden temp for
//! each live handle that uses a named temp, and nothing else.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use atomic_write::{AtomicFile, Durability, Options};

/// Names in the scratch directory that operations refer to by index.
pub const SLOTS: usize = 6;
/// Live `AtomicFile`s at most; further creates are skipped.
pub const MAX_HANDLES: usize = 4;
/// The umask every case runs under.
pub const UMASK: u32 = 0o022;

/// The name of slot `i`; the last one is `NAME_MAX` bytes long, so its temp
/// name must be cut short.
pub fn slot_name(i: usize) -> Vec<u8> {
    if i == SLOTS - 1 {
        vec![b'n'; 255]
    } else {
        format!("f{i}").into_bytes()
    }
}

/// Where a symlink points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `fK`, relative.
    Slot(usize),
    /// `/abs/path/to/dir/fK`.
    Abs(usize),
    /// `nodir/fK`: the parent does not exist.
    Missing(usize),
}

/// What a slot initially holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Init {
    Absent,
    File { content: Vec<u8>, mode: u32 },
    Link(Link),
    Dir,
    Fifo,
}

/// `AtomicFile` creation with its options.
#[derive(Clone, Debug)]
pub struct Create {
    pub slot: usize,
    pub mode: Option<u32>,
    pub no_clobber: bool,
    pub append: bool,
    pub follow: bool,
    pub full_sync: bool,
    /// `unnamed_temp(false)`: the fallback path with a visible temp.
    pub named: bool,
}

/// One step. `h` picks a live handle (modulo their number); a step on a
/// handle when none is live is skipped.
#[derive(Clone, Debug)]
pub enum Op {
    Create(Create),
    Write {
        h: usize,
        data: Vec<u8>,
    },
    WriteAll {
        h: usize,
        data: Vec<u8>,
    },
    Seek {
        h: usize,
        pos: SeekFrom,
    },
    Flush {
        h: usize,
    },
    /// `as_file_mut().set_len(len)`.
    SetLen {
        h: usize,
        len: u64,
    },
    /// `io::copy` from a slot's file into `as_file_mut()` (the kernel copy path).
    CopyFrom {
        h: usize,
        slot: usize,
    },
    Commit {
        h: usize,
    },
    /// `commit_all` of the picked handles (each once, in this order).
    CommitAll {
        hs: Vec<usize>,
    },
    /// `Options::write_bytes`: create, write all, commit in one call.
    WriteBytes {
        create: Create,
        data: Vec<u8>,
    },
    Discard {
        h: usize,
    },
    Drop {
        h: usize,
    },
    /// Another program writes a slot in place (`fs::write`), if it is a
    /// regular file or absent.
    External {
        slot: usize,
        data: Vec<u8>,
    },
    /// Changes the directory behind the model's back, so the check must
    /// fail: appends a byte to a slot (created if absent), or with `None`
    /// leaves a stray file named like a temp. Only for showing that the
    /// checks can fail; never generated.
    Sabotage {
        slot: Option<usize>,
    },
}

/// A whole test case.
#[derive(Clone, Debug)]
pub struct Case {
    pub init: Vec<Init>,
    pub ops: Vec<Op>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    File { content: Vec<u8>, mode: u32 },
    Link(Link),
    Dir,
    Fifo,
}

/// The model of one live `AtomicFile`.
#[derive(Debug)]
struct Handle {
    file: AtomicFile,
    target: usize,
    content: Vec<u8>,
    cursor: u64,
    mode: u32,
    no_clobber: bool,
    named: bool,
    /// How it was created (for the commit of an append to a missing file
    /// that was created meanwhile: it appends to that file then).
    create: Create,
    /// An append to a target missing at `create()`.
    append_new: bool,
    /// An append to an existing file: the inode it holds locked (a second
    /// appender of it on this thread fails with `WouldBlock`).
    ino: Option<u64>,
}

/// The inodes that live appenders hold locked.
fn held(handles: &[Handle]) -> Vec<u64> {
    handles.iter().filter_map(|h| h.ino).collect()
}

enum Resolved {
    Slot(usize),
    Missing,
    Loop,
}

struct Model {
    dir: PathBuf,
    entries: BTreeMap<usize, Entry>,
    root: bool,
    /// While a batch is modelled: the slots its earlier files replaced (the
    /// model has them before the real `commit_all` runs; new inodes, held by
    /// no appender).
    fresh: Vec<usize>,
}

fn is_root() -> bool {
    #[allow(unsafe_code)]
    // SAFETY: geteuid has no preconditions.
    unsafe {
        libc::geteuid() == 0
    }
}

fn set_umask(mask: u32) {
    #[allow(unsafe_code)]
    // SAFETY: umask only swaps the process's file mode mask.
    unsafe {
        libc::umask(mask as libc::mode_t);
    }
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    #[allow(unsafe_code)]
    // SAFETY: `c` is a valid C string.
    let r = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(r, 0, "mkfifo {}", path.display());
}

impl Model {
    fn path(&self, slot: usize) -> PathBuf {
        self.dir.join(std::ffi::OsStr::from_bytes(&slot_name(slot)))
    }

    fn link_target(&self, link: Link) -> PathBuf {
        match link {
            Link::Slot(k) => PathBuf::from(std::ffi::OsStr::from_bytes(&slot_name(k))),
            Link::Abs(k) => self.path(k),
            Link::Missing(k) => Path::new("nodir").join(std::ffi::OsStr::from_bytes(&slot_name(k))),
        }
    }

    /// Without root, a file needs owner read and write permission to be
    /// checked and rewritten, and a write clears setuid/setgid.
    fn usable_mode(&self, mode: u32) -> u32 {
        let mode = mode & 0o7777;
        if self.root {
            mode
        } else {
            (mode | 0o600) & !0o6000
        }
    }

    fn options(&self, c: &Create) -> Options {
        let mut opts = Options::new();
        opts.no_clobber(c.no_clobber)
            .append(c.append)
            .follow_symlinks(c.follow)
            .unnamed_temp(!c.named)
            .durability(if c.full_sync {
                Durability::Full
            } else {
                Durability::None
            });
        if let Some(x) = c.mode {
            opts.mode(self.usable_mode(x));
        }
        opts
    }

    /// What `create` gives: the target slot, the temp's initial content and
    /// the final mode; or the kind of error.
    fn expect_create(
        &self,
        c: &Create,
        held: &[u64],
    ) -> Result<(usize, Vec<u8>, u32), io::ErrorKind> {
        // With no_clobber a link at the path is an existing target, never followed.
        match self.resolve(c.slot % SLOTS, c.follow && !c.no_clobber) {
            Resolved::Missing => Err(io::ErrorKind::NotFound),
            // `FilesystemLoop` (not nameable on stable Rust yet).
            Resolved::Loop => Err(io::Error::from_raw_os_error(libc::ELOOP).kind()),
            Resolved::Slot(t) => match self.entries.get(&t) {
                Some(Entry::Dir) => Err(io::ErrorKind::IsADirectory),
                Some(Entry::Fifo) => Err(io::ErrorKind::InvalidInput),
                // A symlink not followed counts as an existing target.
                Some(_) if c.no_clobber => Err(io::ErrorKind::AlreadyExists),
                // Appending to a link not followed is refused.
                Some(Entry::Link(_)) if c.append => Err(io::ErrorKind::InvalidInput),
                // An appender of this very file is live (on this thread).
                Some(Entry::File { .. })
                    if c.append && !self.fresh.contains(&t) && held.contains(&self.ino(t)) =>
                {
                    Err(io::ErrorKind::WouldBlock)
                }
                existing => {
                    let (content, old_mode) = match existing {
                        Some(Entry::File { content, mode }) => (content.clone(), Some(*mode)),
                        _ => (Vec::new(), None),
                    };
                    Ok((
                        t,
                        if c.append { content } else { Vec::new() },
                        c.mode
                            .map(|x| self.usable_mode(x))
                            .or(old_mode)
                            .unwrap_or(0o666 & !UMASK),
                    ))
                }
            },
        }
    }

    /// The inode of the file in `slot`.
    fn ino(&self, slot: usize) -> u64 {
        use std::os::unix::fs::MetadataExt;
        fs::symlink_metadata(self.path(slot)).unwrap().ino()
    }

    /// What committing `hd` makes of the target: its slot, content and mode,
    /// or the kind of error. An append to a file missing at `create()` that
    /// exists now appends to it, as a `create()` now would (`held`: the
    /// inodes live appenders hold).
    fn expect_commit(
        &self,
        hd: &Handle,
        held: &[u64],
    ) -> Result<(usize, Vec<u8>, u32), io::ErrorKind> {
        if !self.entries.contains_key(&hd.target) {
            return Ok((hd.target, hd.content.clone(), hd.mode));
        }
        if hd.no_clobber {
            return Err(io::ErrorKind::AlreadyExists);
        }
        if !hd.append_new {
            return Ok((hd.target, hd.content.clone(), hd.mode));
        }
        let again = Create {
            slot: hd.target,
            ..hd.create.clone()
        };
        let (t, mut content, mode) = self.expect_create(&again, held)?;
        content.extend_from_slice(&hd.content);
        Ok((t, content, mode))
    }

    fn resolve(&self, slot: usize, follow: bool) -> Resolved {
        let mut cur = slot;
        if !follow {
            return Resolved::Slot(cur);
        }
        // The library follows up to 40 links, as Linux does.
        for _ in 0..=40 {
            match self.entries.get(&cur) {
                Some(Entry::Link(Link::Slot(k) | Link::Abs(k))) => cur = *k,
                Some(Entry::Link(Link::Missing(_))) => return Resolved::Missing,
                _ => return Resolved::Slot(cur),
            }
        }
        Resolved::Loop
    }

    /// Asserts the directory holds exactly the model's entries plus one named
    /// temp for each live handle that has one, no more permissive than its
    /// final mode.
    fn check(&self, handles: &[Handle], step: &str) {
        let mut extra = Vec::new();
        let mut seen = BTreeMap::new();
        for e in fs::read_dir(&self.dir).expect("read scratch dir") {
            let e = e.unwrap();
            let name = e.file_name().as_bytes().to_vec();
            match (0..SLOTS).find(|&i| slot_name(i) == name) {
                Some(i) => {
                    seen.insert(i, ());
                }
                None => extra.push(name),
            }
        }
        for i in 0..SLOTS {
            let path = self.path(i);
            let want = self.entries.get(&i);
            assert_eq!(
                seen.contains_key(&i),
                want.is_some(),
                "{step}: slot {i} presence; model {want:?}"
            );
            let Some(want) = want else { continue };
            let meta = fs::symlink_metadata(&path).unwrap();
            let ft = meta.file_type();
            match want {
                Entry::File { content, mode } => {
                    assert!(ft.is_file(), "{step}: slot {i} is not a file: {ft:?}");
                    let got = fs::read(&path).unwrap();
                    assert!(
                        got == *content,
                        "{step}: slot {i} content: got {} bytes {:?}, model {} bytes {:?}",
                        got.len(),
                        &got[..got.len().min(64)],
                        content.len(),
                        &content[..content.len().min(64)]
                    );
                    let got_mode = meta.permissions().mode() & 0o7777;
                    assert_eq!(
                        got_mode, *mode,
                        "{step}: slot {i} mode {got_mode:o} vs {mode:o}"
                    );
                }
                Entry::Link(l) => {
                    assert!(ft.is_symlink(), "{step}: slot {i} is not a symlink");
                    assert_eq!(fs::read_link(&path).unwrap(), self.link_target(*l));
                }
                Entry::Dir => {
                    assert!(ft.is_dir(), "{step}: slot {i} is not a directory");
                    assert_eq!(fs::read_dir(&path).unwrap().count(), 0, "{step}: dir {i}");
                }
                Entry::Fifo => assert!(ft.is_fifo(), "{step}: slot {i} is not a FIFO"),
            }
        }
        // Every temp is in the target's directory (what /proc/self/fd says of
        // its descriptor) and never more permissive than the result will be;
        // a named one is listed there, hidden, named after its target (cut
        // short to fit NAME_MAX). Nothing else is there.
        let mut named = Vec::new();
        for h in handles {
            let fd = std::os::fd::AsRawFd::as_raw_fd(&h.file);
            let at = fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
            let at = at.as_os_str().as_bytes();
            let (dir, name) = at.split_at(at.iter().rposition(|&b| b == b'/').unwrap());
            let name = &name[1..];
            assert_eq!(
                dir,
                self.dir.as_os_str().as_bytes(),
                "{step}: temp not in the target's directory"
            );
            let m = h.file.as_file().metadata().unwrap().permissions().mode();
            assert_eq!(
                m & 0o777 & !h.mode,
                0,
                "{step}: temp mode {m:o} more permissive than {:o}",
                h.mode
            );
            if !h.named {
                assert!(
                    name.starts_with(b"#") && name.ends_with(b" (deleted)"),
                    "{step}: {at:?}"
                );
                continue;
            }
            let t = slot_name(h.target);
            let t = &t[..t.len().min(255 - 1 - 14 - 16 - 4)];
            let s = String::from_utf8_lossy(name);
            assert!(
                name.len() <= 255
                    && name.starts_with(b".")
                    && name[1..].starts_with(t)
                    && name[1 + t.len()..].starts_with(b".atomic-write-")
                    && name.ends_with(b".tmp"),
                "{step}: temp name {s:?}"
            );
            named.push(name.to_vec());
        }
        named.sort();
        extra.sort();
        assert_eq!(
            extra
                .iter()
                .map(|n| String::from_utf8_lossy(n))
                .collect::<Vec<_>>(),
            named
                .iter()
                .map(|n| String::from_utf8_lossy(n))
                .collect::<Vec<_>>(),
            "{step}: entries besides the slots"
        );
    }
}

/// Runs `case` in a fresh directory under `base`, panicking at the first
/// difference from the model.
pub fn run(case: &Case, base: &Path) {
    set_umask(UMASK);
    let scratch = tempfile::Builder::new()
        .prefix("aw-model-")
        .tempdir_in(base)
        .expect("scratch dir");
    let mut m = Model {
        dir: scratch.path().to_path_buf(),
        entries: BTreeMap::new(),
        root: is_root(),
        fresh: Vec::new(),
    };
    for (i, init) in case.init.iter().enumerate().take(SLOTS) {
        let path = m.path(i);
        let entry = match init {
            Init::Absent => continue,
            Init::File { content, mode } => {
                let mode = m.usable_mode(*mode);
                fs::write(&path, content).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
                Entry::File {
                    content: content.clone(),
                    mode,
                }
            }
            Init::Link(l) => {
                let l = match *l {
                    Link::Slot(k) => Link::Slot(k % SLOTS),
                    Link::Abs(k) => Link::Abs(k % SLOTS),
                    Link::Missing(k) => Link::Missing(k % SLOTS),
                };
                std::os::unix::fs::symlink(m.link_target(l), &path).unwrap();
                Entry::Link(l)
            }
            Init::Dir => {
                fs::create_dir(&path).unwrap();
                Entry::Dir
            }
            Init::Fifo => {
                mkfifo(&path);
                Entry::Fifo
            }
        };
        m.entries.insert(i, entry);
    }
    m.check(&[], "setup");

    let mut handles: Vec<Handle> = Vec::new();
    for (n, op) in case.ops.iter().enumerate() {
        let step = format!("step {n} {op:?}");
        apply(&mut m, &mut handles, op, &step);
        m.check(&handles, &step);
    }
    handles.clear();
    m.check(&handles, "after dropping all handles");
}

fn pick(handles: &[Handle], h: usize) -> Option<usize> {
    (!handles.is_empty()).then(|| h % handles.len())
}

fn apply(m: &mut Model, handles: &mut Vec<Handle>, op: &Op, step: &str) {
    match op {
        Op::Create(c) => {
            if handles.len() >= MAX_HANDLES {
                return;
            }
            let got = m.options(c).create(m.path(c.slot % SLOTS));
            let want = m.expect_create(c, &held(handles));
            match (got, want) {
                (Ok(file), Ok((target, content, mode))) => {
                    assert_eq!(file.target(), m.path(target), "{step}: target()");
                    let existing = matches!(m.entries.get(&target), Some(Entry::File { .. }));
                    handles.push(Handle {
                        file,
                        target,
                        cursor: content.len() as u64,
                        content,
                        mode,
                        no_clobber: c.no_clobber,
                        named: c.named,
                        create: c.clone(),
                        append_new: c.append && !c.no_clobber && !existing,
                        ino: (c.append && !c.no_clobber && existing).then(|| m.ino(target)),
                    });
                }
                (Err(e), Err(kind)) => assert_eq!(e.kind(), kind, "{step}: {e}"),
                (got, want) => panic!("{step}: got {got:?}, model {want:?}"),
            }
        }
        Op::Write { h, data } | Op::WriteAll { h, data } => {
            let Some(i) = pick(handles, *h) else { return };
            let hd = &mut handles[i];
            let n = if matches!(op, Op::Write { .. }) {
                hd.file.write(data).unwrap()
            } else {
                hd.file.write_all(data).map(|()| data.len()).unwrap()
            };
            assert!(
                n <= data.len() && (n > 0 || data.is_empty()),
                "{step}: wrote {n}"
            );
            let at = hd.cursor as usize;
            // Writing nothing past the end does not extend the file.
            if n > 0 {
                if hd.content.len() < at + n {
                    hd.content.resize(at + n, 0);
                }
                hd.content[at..at + n].copy_from_slice(&data[..n]);
            }
            hd.cursor += n as u64;
        }
        Op::Seek { h, pos } => {
            let Some(i) = pick(handles, *h) else { return };
            let hd = &mut handles[i];
            let want = match *pos {
                SeekFrom::Start(o) => i128::from(o),
                SeekFrom::End(o) => hd.content.len() as i128 + i128::from(o),
                SeekFrom::Current(o) => i128::from(hd.cursor) + i128::from(o),
            };
            match hd.file.seek(*pos) {
                Ok(p) => {
                    assert_eq!(i128::from(p), want, "{step}");
                    hd.cursor = p;
                }
                Err(e) => {
                    assert!(want < 0, "{step}: {e}");
                    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{step}: {e}");
                }
            }
            assert_eq!(hd.file.stream_position().unwrap(), hd.cursor, "{step}");
        }
        Op::Flush { h } => {
            let Some(i) = pick(handles, *h) else { return };
            handles[i].file.flush().unwrap();
        }
        Op::SetLen { h, len } => {
            let Some(i) = pick(handles, *h) else { return };
            let hd = &mut handles[i];
            hd.file.as_file_mut().set_len(*len).unwrap();
            hd.content.resize(*len as usize, 0);
        }
        Op::CopyFrom { h, slot } => {
            let Some(i) = pick(handles, *h) else { return };
            let slot = slot % SLOTS;
            let Some(Entry::File { content, .. }) = m.entries.get(&slot) else {
                return;
            };
            let mut src = fs::File::open(m.path(slot)).unwrap();
            let hd = &mut handles[i];
            let n = io::copy(&mut src, hd.file.as_file_mut()).unwrap();
            assert_eq!(n, content.len() as u64, "{step}");
            let at = hd.cursor as usize;
            if !content.is_empty() {
                if hd.content.len() < at + content.len() {
                    hd.content.resize(at + content.len(), 0);
                }
                hd.content[at..at + content.len()].copy_from_slice(content);
            }
            hd.cursor += n;
        }
        Op::Commit { h } => {
            let Some(i) = pick(handles, *h) else { return };
            let hd = handles.remove(i);
            let want = m.expect_commit(&hd, &held(handles));
            match (hd.file.commit(), want) {
                (Ok(()), Ok((target, content, mode))) => {
                    m.entries.insert(target, Entry::File { content, mode });
                }
                (Err(e), Err(kind)) => assert_eq!(e.kind(), kind, "{step}: {e}"),
                (got, want) => panic!("{step}: got {got:?}, model {want:?}"),
            }
        }
        Op::CommitAll { hs } => {
            let mut picked: Vec<usize> = Vec::new();
            for &h in hs {
                if let Some(i) = pick(handles, h) {
                    if !picked.contains(&i) {
                        picked.push(i);
                    }
                }
            }
            // Take them out, in the order given; the others stay live.
            let mut all: Vec<Option<Handle>> = handles.drain(..).map(Some).collect();
            let batch: Vec<Handle> = picked.iter().map(|&i| all[i].take().unwrap()).collect();
            handles.extend(all.into_iter().flatten());
            // In order until the first that cannot be published; that one and
            // the rest are discarded.
            // The batch's appenders hold their locks until it is done.
            let mut locked = held(handles);
            locked.extend(held(&batch));
            let mut files = Vec::new();
            let mut want = Ok(());
            for hd in batch {
                if want.is_ok() {
                    match m.expect_commit(&hd, &locked) {
                        Ok((target, content, mode)) => {
                            m.entries.insert(target, Entry::File { content, mode });
                            m.fresh.push(target);
                        }
                        Err(kind) => want = Err(kind),
                    }
                }
                files.push(hd.file);
            }
            m.fresh.clear();
            let got = atomic_write::commit_all(files);
            match (got, want) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err(kind)) => assert_eq!(e.kind(), kind, "{step}: {e}"),
                (got, want) => panic!("{step}: got {got:?}, model {want:?}"),
            }
        }
        Op::WriteBytes { create, data } => {
            let got = m
                .options(create)
                .write_bytes(m.path(create.slot % SLOTS), data);
            match (got, m.expect_create(create, &held(handles))) {
                (Ok(()), Ok((target, mut content, mode))) => {
                    content.extend_from_slice(data);
                    m.entries.insert(target, Entry::File { content, mode });
                }
                (Err(e), Err(kind)) => assert_eq!(e.kind(), kind, "{step}: {e}"),
                (got, want) => panic!("{step}: got {got:?}, model {want:?}"),
            }
        }
        Op::Discard { h } => {
            let Some(i) = pick(handles, *h) else { return };
            handles.remove(i).file.discard().unwrap();
        }
        Op::Drop { h } => {
            let Some(i) = pick(handles, *h) else { return };
            drop(handles.remove(i));
        }
        Op::Sabotage { slot: Some(slot) } => {
            let mut f = fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(m.path(slot % SLOTS))
                .unwrap();
            f.write_all(b"!").unwrap();
        }
        Op::Sabotage { slot: None } => {
            fs::write(m.dir.join(".f0.atomic-write-0123456789abcdef.tmp"), "").unwrap();
        }
        Op::External { slot, data } => {
            let slot = slot % SLOTS;
            let mode = match m.entries.get(&slot) {
                None => 0o666 & !UMASK,
                Some(Entry::File { mode, .. }) => *mode,
                Some(_) => return,
            };
            fs::write(m.path(slot), data).unwrap();
            m.entries.insert(
                slot,
                Entry::File {
                    content: data.clone(),
                    mode,
                },
            );
        }
    }
}
