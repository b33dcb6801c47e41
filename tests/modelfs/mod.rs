//! A model filesystem for power-loss tests: it keeps what a crash would keep
//! apart from what it would lose, and enumerates the states a power cut can leave.
//!
//! # The durability rules
//!
//! The model is deliberately as weak as the usual `fsync` contract allows, so
//! that a writer which is correct on it relies on nothing a real filesystem
//! may fail to do:
//!
//! 1. **File data and attributes** (content, size, mode, owner) become durable
//!    only at `fsync` of that file. `fdatasync` makes the content and size
//!    durable, not the mode or owner.
//! 2. **Directory entries** (create, mkdir, symlink, link, rename, unlink,
//!    rmdir) become durable only at `fsync` of *that directory* (`fsyncdir`).
//!    A rename between two directories changes two objects, each made durable
//!    by its own directory's sync.
//! 3. **Write-back may happen at any moment.** Between two syncs the kernel is
//!    free to write back any dirty object early, and again later: a crash may
//!    keep, for each object, its last synced version or any version it had
//!    since (one per operation that changed it), independently of the other
//!    objects. A file never synced is empty in its synced version (the
//!    zero-length file of delayed allocation).
//! 4. A durable directory entry naming an inode keeps that inode alive, as
//!    after journal recovery; unreachable inodes are gone.
//!
//! A LazyFS-style model persists directory entries at once (rule 2 replaced by
//! "directory changes are durable immediately"); [`Model::EagerDirs`] does
//! that, to show in the tests which bug such a model misses.
//!
//! # Crash states
//!
//! The filesystem logs every mutating operation it serves ([`Op`]). A crash
//! "before operation K" applies the first K operations to the volatile state,
//! tracking for each object the versions a crash may leave by the rules
//! above, then takes every combination of them (rule 3). [`crash_states`]
//! enumerates them deterministically from the log: the write runs once,
//! every prefix is replayed.
#![allow(dead_code)]

pub mod fuse;
pub mod tmpfile;

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::hash::{Hash, Hasher};
use std::path::{Component, Path};

/// The root directory's inode number, as FUSE numbers it.
pub const ROOT: u64 = 1;

/// What an inode holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    File(Vec<u8>),
    Dir(BTreeMap<OsString, u64>),
    Symlink(OsString),
}

/// An inode: its content and the attributes a sync makes durable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Inode {
    pub node: Node,
    /// Permission bits, with setuid/setgid/sticky.
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Inode {
    pub fn file(data: &[u8], perm: u32) -> Inode {
        Inode {
            node: Node::File(data.to_vec()),
            perm,
            uid: 0,
            gid: 0,
        }
    }
    pub fn dir(perm: u32) -> Inode {
        Inode {
            node: Node::Dir(BTreeMap::new()),
            perm,
            uid: 0,
            gid: 0,
        }
    }
    pub fn symlink(target: &str) -> Inode {
        Inode {
            node: Node::Symlink(target.into()),
            perm: 0o777,
            uid: 0,
            gid: 0,
        }
    }
    pub fn entries(&self) -> Option<&BTreeMap<OsString, u64>> {
        match &self.node {
            Node::Dir(e) => Some(e),
            _ => None,
        }
    }
    fn entries_mut(&mut self) -> &mut BTreeMap<OsString, u64> {
        match &mut self.node {
            Node::Dir(e) => e,
            _ => panic!("not a directory"),
        }
    }
    /// This inode as it is just after creation: same attributes, no content.
    fn born(&self) -> Inode {
        let node = match &self.node {
            Node::File(_) => Node::File(Vec::new()),
            Node::Dir(_) => Node::Dir(BTreeMap::new()),
            Node::Symlink(t) => Node::Symlink(t.clone()),
        };
        Inode {
            node,
            ..self.clone()
        }
    }
}

/// A whole filesystem: inodes by number, [`ROOT`] the root directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Image {
    pub inodes: BTreeMap<u64, Inode>,
}

impl Image {
    /// A filesystem holding only an empty root directory.
    pub fn new() -> Image {
        let mut inodes = BTreeMap::new();
        inodes.insert(ROOT, Inode::dir(0o755));
        Image { inodes }
    }

    /// Adds `inode` at the relative `path` (parents must exist); returns its number.
    pub fn add(&mut self, path: &str, inode: Inode) -> u64 {
        let p = Path::new(path);
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => self.lookup_path(d, false).expect("parent"),
            _ => ROOT,
        };
        let ino = self.inodes.keys().max().copied().unwrap_or(ROOT) + 1;
        self.inodes.insert(ino, inode);
        self.inodes
            .get_mut(&parent)
            .expect("parent inode")
            .entries_mut()
            .insert(p.file_name().expect("name").to_owned(), ino);
        ino
    }

    /// The inode that `name` names in directory `dir`.
    pub fn lookup(&self, dir: u64, name: &OsStr) -> Option<u64> {
        self.inodes.get(&dir)?.entries()?.get(name).copied()
    }

    /// Resolves a relative path from the root, following symlinks (relative
    /// ones, and in the last component only if `follow`).
    pub fn lookup_path(&self, path: &Path, follow: bool) -> Option<u64> {
        self.walk(ROOT, path, follow, 0)
    }

    fn walk(&self, start: u64, path: &Path, follow: bool, depth: usize) -> Option<u64> {
        if depth > 40 {
            return None;
        }
        let comps: Vec<Component> = path.components().collect();
        // Directory inodes from the root to where we are, for `..`.
        let mut stack = vec![start];
        for (i, c) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                }
                Component::Normal(name) => {
                    let cur = *stack.last().unwrap();
                    let ino = self.lookup(cur, name)?;
                    match &self.inodes.get(&ino)?.node {
                        Node::Symlink(t) if !last || follow => {
                            // Resolve the link relative to the directory holding it.
                            let dir_path = self.path_of_stack(&stack)?;
                            let joined = dir_path.join(Path::new(t));
                            let target = self.walk(ROOT, &joined, true, depth + 1)?;
                            if last {
                                return Some(target);
                            }
                            stack.push(target);
                        }
                        _ => stack.push(ino),
                    }
                }
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        stack.last().copied()
    }

    /// The relative path of the directory at the top of `stack` (root first).
    fn path_of_stack(&self, stack: &[u64]) -> Option<std::path::PathBuf> {
        let mut p = std::path::PathBuf::new();
        for w in stack.windows(2) {
            let name = self
                .inodes
                .get(&w[0])?
                .entries()?
                .iter()
                .find(|(_, &i)| i == w[1])?
                .0;
            p.push(name);
        }
        Some(p)
    }

    /// The content of the regular file at `path` (following symlinks), if any.
    pub fn read(&self, path: &Path) -> Option<&[u8]> {
        match &self.inodes.get(&self.lookup_path(path, true)?)?.node {
            Node::File(d) => Some(d),
            _ => None,
        }
    }

    /// `(perm, uid, gid)` of the regular file at `path` (following symlinks).
    pub fn attrs(&self, path: &Path) -> Option<(u32, u32, u32)> {
        let i = self.inodes.get(&self.lookup_path(path, true)?)?;
        matches!(i.node, Node::File(_)).then_some((i.perm, i.uid, i.gid))
    }

    /// Number of directory entries naming `ino`; for a directory, 2 plus its subdirectories.
    pub fn nlink(&self, ino: u64) -> u32 {
        match self.inodes.get(&ino).map(|i| &i.node) {
            Some(Node::Dir(e)) => {
                let subdirs = e
                    .values()
                    .filter(|i| matches!(self.inodes.get(i).map(|n| &n.node), Some(Node::Dir(_))))
                    .count();
                2 + subdirs as u32
            }
            _ => self
                .inodes
                .values()
                .filter_map(Inode::entries)
                .flat_map(|e| e.values())
                .filter(|&&i| i == ino)
                .count() as u32,
        }
    }

    /// Keeps only the inodes reachable from the root.
    fn prune(&mut self) {
        let mut seen = BTreeSet::new();
        let mut todo = vec![ROOT];
        while let Some(i) = todo.pop() {
            if !seen.insert(i) {
                continue;
            }
            if let Some(e) = self.inodes.get(&i).and_then(Inode::entries) {
                todo.extend(e.values().copied());
            }
        }
        self.inodes.retain(|i, _| seen.contains(i));
    }

    fn digest(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

/// One mutating operation, as the filesystem served it. The filesystem and
/// the replay both change state only through [`Image::apply`], so what was
/// served and what is replayed cannot differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A new inode (file, directory, symlink) named `name` in `parent`.
    Create {
        parent: u64,
        name: OsString,
        ino: u64,
        inode: Inode,
    },
    /// A new regular file without a name (`O_TMPFILE`).
    Tmpfile {
        ino: u64,
        inode: Inode,
    },
    Link {
        ino: u64,
        parent: u64,
        name: OsString,
    },
    /// `unlink` or `rmdir`.
    Unlink {
        parent: u64,
        name: OsString,
    },
    Rename {
        parent: u64,
        name: OsString,
        newparent: u64,
        newname: OsString,
    },
    Write {
        ino: u64,
        offset: u64,
        data: Vec<u8>,
    },
    SetAttr {
        ino: u64,
        perm: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
    },
    Fsync {
        ino: u64,
        datasync: bool,
    },
    FsyncDir {
        ino: u64,
    },
}

impl Op {
    /// A short description for messages, without the data.
    pub fn describe(&self) -> String {
        match self {
            Op::Create {
                parent,
                name,
                ino,
                inode,
            } => {
                let kind = match inode.node {
                    Node::File(_) => "create",
                    Node::Dir(_) => "mkdir",
                    Node::Symlink(_) => "symlink",
                };
                format!("{kind}({parent}/{}) = {ino}", name.to_string_lossy())
            }
            Op::Tmpfile { ino, .. } => format!("tmpfile() = {ino}"),
            Op::Link { ino, parent, name } => {
                format!("link({ino} -> {parent}/{})", name.to_string_lossy())
            }
            Op::Unlink { parent, name } => format!("unlink({parent}/{})", name.to_string_lossy()),
            Op::Rename {
                parent,
                name,
                newparent,
                newname,
            } => format!(
                "rename({parent}/{} -> {newparent}/{})",
                name.to_string_lossy(),
                newname.to_string_lossy()
            ),
            Op::Write { ino, offset, data } => {
                format!("write({ino}, off {offset}, {} bytes)", data.len())
            }
            Op::SetAttr {
                ino,
                perm,
                uid,
                gid,
                size,
            } => format!("setattr({ino}, perm {perm:?}, uid {uid:?}, gid {gid:?}, size {size:?})"),
            Op::Fsync { ino, datasync } => {
                format!("{}({ino})", if *datasync { "fdatasync" } else { "fsync" })
            }
            Op::FsyncDir { ino } => format!("fsyncdir({ino})"),
        }
    }

    /// The inodes this operation changes (directories included).
    fn inodes_changed(&self) -> Vec<u64> {
        match self {
            Op::Create { parent, ino, .. } => vec![*parent, *ino],
            Op::Tmpfile { ino, .. } => vec![*ino],
            Op::Write { ino, .. } | Op::SetAttr { ino, .. } => vec![*ino],
            _ => self.dirs_changed(),
        }
    }

    /// The directories whose entries this operation changes.
    fn dirs_changed(&self) -> Vec<u64> {
        match self {
            Op::Create { parent, .. } | Op::Link { parent, .. } | Op::Unlink { parent, .. } => {
                vec![*parent]
            }
            Op::Rename {
                parent, newparent, ..
            } => vec![*parent, *newparent],
            _ => vec![],
        }
    }
}

impl Image {
    /// Applies `op` to this (volatile) state. The caller has validated it.
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Create {
                parent,
                name,
                ino,
                inode,
            } => {
                self.inodes.insert(*ino, inode.clone());
                self.dir_mut(*parent).insert(name.clone(), *ino);
            }
            Op::Tmpfile { ino, inode } => {
                self.inodes.insert(*ino, inode.clone());
            }
            Op::Link { ino, parent, name } => {
                self.dir_mut(*parent).insert(name.clone(), *ino);
            }
            Op::Unlink { parent, name } => {
                self.dir_mut(*parent).remove(name);
            }
            Op::Rename {
                parent,
                name,
                newparent,
                newname,
            } => {
                let ino = self.dir_mut(*parent).remove(name).expect("rename source");
                self.dir_mut(*newparent).insert(newname.clone(), ino);
            }
            Op::Write { ino, offset, data } => {
                if let Some(Node::File(d)) = self.inodes.get_mut(ino).map(|i| &mut i.node) {
                    let end = *offset as usize + data.len();
                    if d.len() < end {
                        d.resize(end, 0);
                    }
                    d[*offset as usize..end].copy_from_slice(data);
                }
            }
            Op::SetAttr {
                ino,
                perm,
                uid,
                gid,
                size,
            } => {
                let i = self.inodes.get_mut(ino).expect("setattr inode");
                if let Some(p) = perm {
                    i.perm = *p;
                }
                if let Some(u) = uid {
                    i.uid = *u;
                }
                if let Some(g) = gid {
                    i.gid = *g;
                }
                if let (Some(s), Node::File(d)) = (size, &mut i.node) {
                    d.resize(*s as usize, 0);
                }
            }
            Op::Fsync { .. } | Op::FsyncDir { .. } => {}
        }
    }

    fn dir_mut(&mut self, dir: u64) -> &mut BTreeMap<OsString, u64> {
        self.inodes.get_mut(&dir).expect("directory").entries_mut()
    }
}

/// Which durability model the replay follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// The rules in the module docs: syncs and any early write-back.
    Strict,
    /// As `Strict`, without early write-back: only synced versions survive.
    /// (Misses truncate-in-place: shown in the tests.)
    SyncedOnly,
    /// LazyFS-style: directory changes durable at once; file data at fsync.
    /// (Misses a missing directory fsync: shown in the tests.)
    EagerDirs,
}

/// Most crash states one crash point may have; more means a workload too big
/// to enumerate, which is a test bug.
const MAX_STATES_PER_POINT: usize = 50_000;

/// Durable and volatile state while replaying a log.
struct Replay {
    model: Model,
    volatile: Image,
    /// For each inode, the versions a crash may leave: `[0]` is the last
    /// synced one (for an inode never synced: as created, with no content),
    /// then every version it had since, in order, the current one last.
    history: BTreeMap<u64, Vec<Inode>>,
}

impl Replay {
    fn new(initial: &Image, model: Model) -> Replay {
        Replay {
            model,
            volatile: initial.clone(),
            history: initial
                .inodes
                .iter()
                .map(|(ino, i)| (*ino, vec![i.clone()]))
                .collect(),
        }
    }

    fn step(&mut self, op: &Op) {
        self.volatile.apply(op);
        if let Op::Create { ino, inode, .. } | Op::Tmpfile { ino, inode } = op {
            self.history.insert(*ino, vec![inode.born()]);
        }
        match op {
            Op::Fsync { ino, datasync } => {
                let cur = self.volatile.inodes[ino].clone();
                let h = self.history.get_mut(ino).expect("inode history");
                let synced = if *datasync {
                    Inode {
                        node: cur.node.clone(),
                        ..h[0].clone()
                    }
                } else {
                    cur.clone()
                };
                *h = vec![synced];
                if h[0] != cur {
                    h.push(cur);
                }
            }
            Op::FsyncDir { ino } => {
                let cur = self.volatile.inodes[ino].clone();
                self.history.insert(*ino, vec![cur]);
            }
            _ => {
                for ino in op.inodes_changed() {
                    let cur = &self.volatile.inodes[&ino];
                    let h = self.history.get_mut(&ino).expect("inode history");
                    if self.model == Model::EagerDirs && op.dirs_changed().contains(&ino) {
                        // LazyFS-style: the directory change is durable at once.
                        *h = vec![cur.clone()];
                    } else if h.last() != Some(cur) {
                        h.push(cur.clone());
                    }
                }
            }
        }
    }

    /// Every image a crash now may leave: each inode in any version of its
    /// history, in every combination (only synced versions for `SyncedOnly`).
    fn states(&self) -> Vec<Image> {
        let choices: Vec<(u64, &[Inode])> = self
            .volatile
            .inodes
            .keys()
            .map(|ino| {
                let h = &self.history[ino][..];
                (
                    *ino,
                    if self.model == Model::SyncedOnly {
                        &h[..1]
                    } else {
                        h
                    },
                )
            })
            .collect();
        let total: usize = choices.iter().map(|(_, h)| h.len()).product();
        assert!(
            total <= MAX_STATES_PER_POINT,
            "too many crash states to enumerate at one point: {total}"
        );
        let mut out = Vec::with_capacity(total);
        for mut n in 0..total {
            let mut img = Image::default();
            for (ino, h) in &choices {
                img.inodes.insert(*ino, h[n % h.len()].clone());
                n /= h.len();
            }
            img.prune();
            out.push(img);
        }
        out
    }
}

/// One crash state: the image a crash before operation `k` may leave.
pub struct CrashState {
    /// Operations applied before the crash.
    pub k: usize,
    pub image: Image,
}

/// Every crash state of `log` replayed on `initial`, for each prefix
/// `0..=log.len()`, each prefix's states deduplicated.
pub fn crash_states(initial: &Image, log: &[Op], model: Model) -> Vec<CrashState> {
    let mut r = Replay::new(initial, model);
    let mut out = Vec::new();
    for k in 0..=log.len() {
        let mut seen = BTreeSet::new();
        for image in r.states() {
            if seen.insert(image.digest()) {
                out.push(CrashState { k, image });
            }
        }
        if let Some(op) = log.get(k) {
            r.step(op);
        }
    }
    out
}

/// What a write was expected to do, for [`check`].
pub struct Expect<'a> {
    /// The target's path relative to the root, as the writer named it.
    pub path: &'a Path,
    /// The final target's path (symlinks followed): where temps appear.
    pub real: &'a Path,
    /// Content before the write (`None`: no target).
    pub old: Option<&'a [u8]>,
    pub new: &'a [u8],
    /// Permission bits, owner and group the new content must have: a state
    /// with the new content but other attributes is a failure too.
    pub new_attrs: (u32, u32, u32),
    /// Number of operations served before the writer reported success, if it did.
    pub reported_at: Option<usize>,
    /// With a backup write: where the backup is and what it held before.
    pub backup: Option<BackupExpect<'a>>,
}

/// What a write with a backup must leave at the backup's path: the previous
/// backup or the old content while the target is old, the old content (with
/// the old file's attributes) once the target is new.
pub struct BackupExpect<'a> {
    pub path: &'a Path,
    /// The backup before the write (`None`: none).
    pub previous: Option<&'a [u8]>,
    /// `(perm, uid, gid)` of the old target.
    pub old_attrs: (u32, u32, u32),
}

/// The outcome of checking every crash state of one write.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Crash points (log prefixes) examined.
    pub crash_points: usize,
    /// Distinct crash states examined.
    pub states: usize,
    /// States with neither the old nor the new content.
    pub torn: usize,
    /// States after reported success without the new content.
    pub lost: usize,
    /// States with the new content but not its permission bits or owner.
    pub wrong_attrs: usize,
    /// States whose backup is missing, partial, or not the old content
    /// beside a new target (with [`Expect::backup`]).
    pub bad_backup: usize,
    /// The first few bad states, described.
    pub samples: Vec<String>,
    /// Most entries left beside the target in one state (temps).
    pub max_leftovers: usize,
    /// States with at least one such entry.
    pub with_leftovers: usize,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.torn == 0 && self.lost == 0 && self.wrong_attrs == 0 && self.bad_backup == 0
    }
}

/// What a file holds, in the words of a sample.
fn describe(got: Option<&[u8]>, want: &Expect) -> String {
    match got {
        None => "no file".to_string(),
        Some(d) if Some(d) == want.old => "the old content".to_string(),
        Some(d) if d == want.new => "the new content".to_string(),
        Some(d) => format!("{} bytes, neither old nor new", d.len()),
    }
}

/// Checks every crash state: the target holds the whole old or the whole new
/// content, and the new content once the writer reported success. Returns
/// the verdict and the distinct images, for remounting.
pub fn check(initial: &Image, log: &[Op], model: Model, want: &Expect) -> (Verdict, Vec<Image>) {
    let states = crash_states(initial, log, model);
    let real_dir = want.real.parent().unwrap_or(Path::new(""));
    let real_name = want.real.file_name().expect("target name");
    let before: BTreeSet<OsString> = initial
        .lookup_path(real_dir, true)
        .and_then(|d| initial.inodes[&d].entries().cloned())
        .map(|e| e.into_keys().collect())
        .unwrap_or_default();
    let mut v = Verdict {
        crash_points: log.len() + 1,
        states: states.len(),
        ..Verdict::default()
    };
    let mut distinct = BTreeMap::new();
    for s in &states {
        let got = s.image.read(want.path);
        let is_old = got == want.old;
        let is_new = got == Some(want.new);
        let torn = !is_old && !is_new;
        let lost = want.reported_at.is_some_and(|r| s.k >= r) && !is_new;
        let attrs = s.image.attrs(want.path);
        let wrong_attrs = is_new && !is_old && attrs != Some(want.new_attrs);
        v.torn += usize::from(torn);
        v.lost += usize::from(lost);
        v.wrong_attrs += usize::from(wrong_attrs);
        let backup_problem = want.backup.as_ref().and_then(|b| {
            let held = s.image.read(b.path);
            let attrs = s.image.attrs(b.path);
            let old_ok = held.is_some() && held == want.old && attrs == Some(b.old_attrs);
            if is_new && !is_old {
                (!old_ok).then(|| {
                    format!(
                        "new target but the backup holds {} ({attrs:?})",
                        describe(held, want)
                    )
                })
            } else {
                (!old_ok && held != b.previous)
                    .then(|| format!("old target and the backup holds {}", describe(held, want)))
            }
        });
        v.bad_backup += usize::from(backup_problem.is_some());
        if let (Some(p), true) = (&backup_problem, v.samples.len() < 5) {
            let at = log
                .get(s.k)
                .map_or("after the last operation".to_string(), |op| {
                    format!("before op #{} {}", s.k, op.describe())
                });
            v.samples.push(format!("crash {at}: {p}"));
        }
        if (torn || lost || wrong_attrs) && v.samples.len() < 5 {
            let at = log
                .get(s.k)
                .map_or("after the last operation".to_string(), |op| {
                    format!("before op #{} {}", s.k, op.describe())
                });
            let held = describe(got, want);
            let why = if lost { "after reported success, " } else { "" };
            let attrs = if wrong_attrs {
                let show = |a: Option<(u32, u32, u32)>| {
                    a.map_or("none".into(), |(p, u, g)| {
                        format!("mode {p:o} owner {u}:{g}")
                    })
                };
                format!(" with {}, not {}", show(attrs), show(Some(want.new_attrs)))
            } else {
                String::new()
            };
            v.samples
                .push(format!("crash {at}: {why}target holds {held}{attrs}"));
        }
        if let Some(d) = s
            .image
            .lookup_path(real_dir, true)
            .and_then(|d| s.image.inodes[&d].entries())
        {
            let extra = d
                .keys()
                .filter(|n| !before.contains(*n) && n.as_os_str() != real_name)
                .count();
            v.max_leftovers = v.max_leftovers.max(extra);
            v.with_leftovers += usize::from(extra > 0);
        }
        distinct
            .entry(s.image.digest())
            .or_insert_with(|| s.image.clone());
    }
    (v, distinct.into_values().collect())
}
