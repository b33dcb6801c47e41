//! Workloads for the crash and fault harnesses: a fresh directory with an old
//! version (or none) at the target, the new version as input, and snapshots of
//! the directory and the target's metadata to compare after a run.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::trace::{Input, Scene};
use super::versions::encode;

/// What is written, and to what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Body size of the versions.
    pub size: usize,
    /// The target already holds the old version (else it is created).
    pub overwrite: bool,
    /// The writer is given a symlink `lnk -> t` in the same directory.
    pub symlink: bool,
    /// Standard input is a pipe rather than a regular file.
    pub pipe: bool,
    /// A previous backup `t~` (version 0, mode [`BACKUP_MODE`]) exists.
    pub backup: bool,
    /// The old version has a `user.*` attribute and an access ACL (issue 10).
    pub xattrs: bool,
}

impl Workload {
    pub fn new(size: usize, overwrite: bool) -> Workload {
        Workload {
            size,
            overwrite,
            symlink: false,
            pipe: false,
            backup: false,
            xattrs: false,
        }
    }
    pub fn label(&self) -> String {
        format!(
            "{} {}B{}{}{}{}",
            if self.overwrite { "overwrite" } else { "new" },
            self.size,
            if self.symlink { " via symlink" } else { "" },
            if self.pipe { " from a pipe" } else { "" },
            if self.backup { " over a backup" } else { "" },
            if self.xattrs {
                " with xattrs and ACL"
            } else {
                ""
            },
        )
    }
}

/// The permission bits of an existing old version: not the default, so that
/// losing or changing them shows.
pub const OLD_MODE: u32 = 0o640;

/// The permission bits of a previous backup: not [`OLD_MODE`].
pub const BACKUP_MODE: u32 = 0o600;

/// The backup's name beside the target `t` (the CLI's default suffix).
pub const BACKUP: &str = "t~";

/// A numbered backup's name (`--backup=numbered` with none before): where it
/// exists, it is the backup the checks look at, [`BACKUP`] being the
/// previous one.
pub const NUMBERED: &str = "t.~1~";

/// The backup to check in `dir`: [`NUMBERED`] if it exists, else [`BACKUP`].
fn backup_in(dir: &Path) -> PathBuf {
    let n = dir.join(NUMBERED);
    if fs::symlink_metadata(&n).is_ok() {
        n
    } else {
        dir.join(BACKUP)
    }
}

/// A prepared run: a scratch directory with `d/` (the target's directory) and
/// the input beside it.
pub struct Setup {
    _tmp: tempfile::TempDir,
    pub scene: Scene,
    pub input: Input,
    pub old: Option<Vec<u8>>,
    pub new: Vec<u8>,
    pub before: Snap,
}

impl Setup {
    /// Old version 1 (if `overwrite`), new version 2.
    pub fn new(w: &Workload) -> Setup {
        Setup::versions(w, 1, 2)
    }

    pub fn versions(w: &Workload, old_v: u64, new_v: u64) -> Setup {
        let tmp = super::scratch();
        let dir = tmp.path().join("d");
        fs::create_dir(&dir).unwrap();
        let target = dir.join("t");
        let given = if w.symlink {
            std::os::unix::fs::symlink("t", dir.join("lnk")).unwrap();
            dir.join("lnk")
        } else {
            target.clone()
        };
        let old = w.overwrite.then(|| encode(old_v, w.size));
        if let Some(old) = &old {
            fs::write(&target, old).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(OLD_MODE)).unwrap();
            if w.xattrs {
                decorate(&target);
            }
        }
        if w.backup {
            let b = dir.join(BACKUP);
            fs::write(&b, encode(0, w.size)).unwrap();
            fs::set_permissions(&b, fs::Permissions::from_mode(BACKUP_MODE)).unwrap();
        }
        let new = encode(new_v, w.size);
        let input = if w.pipe {
            Input::Pipe(Arc::new(new.clone()))
        } else {
            let p = tmp.path().join("input");
            fs::write(&p, &new).unwrap();
            Input::File(p)
        };
        let scene = Scene { dir, given, target };
        let before = Snap::take(&scene);
        Setup {
            _tmp: tmp,
            scene,
            input,
            old,
            new,
            before,
        }
    }

    /// The names expected in the directory when no temp is left.
    pub fn expected_names(&self) -> Vec<String> {
        let mut v = self.before.names.clone();
        if !v.iter().any(|n| n == "t") {
            v.push("t".into());
            v.sort();
        }
        v
    }

    /// Entries of the directory that are neither the target, the symlink nor the backup.
    pub fn temps(&self) -> Vec<String> {
        super::names(&self.scene.dir)
            .into_iter()
            .filter(|n| n != "t" && n != "lnk" && n != BACKUP && n != NUMBERED)
            .collect()
    }

    /// The backup now: content and inode, if there is one.
    pub fn backup(&self) -> Option<(Vec<u8>, u64, u32)> {
        let p = backup_in(&self.scene.dir);
        let m = fs::symlink_metadata(&p).ok()?;
        Some((fs::read(&p).ok()?, m.ino(), m.mode() & 0o7777))
    }

    /// Checks the backup after a run killed (or failed) at some point: with
    /// the target still old, the backup is the previous one or the old file;
    /// with the target new, it is the old file (its content and mode: the
    /// same inode, or a copy where hard links fail).
    pub fn check_backup(&self, target_is_new: bool) -> Result<(), String> {
        let now = self.backup();
        let old = self
            .before
            .target
            .as_ref()
            .map(|t| (t.content.clone(), t.ino, t.mode));
        let previous = self.before.backup.clone();
        // The old file itself (a hard link), or a copy of it with its mode
        // (where links fail): the same content and mode either way.
        let same = |a: &Option<(Vec<u8>, u64, u32)>, b: &Option<(Vec<u8>, u64, u32)>| matches!((a, b), (Some(x), Some(y)) if x.0 == y.0 && x.2 == y.2);
        let is_old = same(&now, &old);
        if target_is_new && old.is_some() && !is_old {
            return Err(format!(
                "the target is new but the backup is not the old file: {}",
                show_backup(&now)
            ));
        }
        if !(target_is_new || is_old || same(&now, &previous) || now == previous) {
            return Err(format!(
                "the target is old and the backup is neither the previous one nor the old file: {}",
                show_backup(&now)
            ));
        }
        Ok(())
    }

    /// Removes leftover temps (after counting them).
    pub fn remove_temps(&self) {
        for n in self.temps() {
            fs::remove_file(self.scene.dir.join(n)).unwrap();
        }
    }
}

fn show_backup(b: &Option<(Vec<u8>, u64, u32)>) -> String {
    match b {
        None => "none".into(),
        Some((c, ino, mode)) => format!(
            "{} bytes (version {:?}), ino {ino}, mode {mode:o}",
            c.len(),
            super::versions::decode(c)
        ),
    }
}

/// The directory's names and the target's content and metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snap {
    pub names: Vec<String>,
    pub target: Option<TargetSnap>,
    /// The backup `t~`: content, inode, mode.
    pub backup: Option<(Vec<u8>, u64, u32)>,
    /// Where the symlink points, if the workload has one.
    pub link: Option<PathBuf>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TargetSnap {
    pub content: Vec<u8>,
    /// Extended attributes (ACL included), sorted by name.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub ino: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl std::fmt::Debug for TargetSnap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes (version {:?}), {} xattrs, ino {} mode {:o} owner {}:{} nlink {} mtime {:?} ctime {:?}",
            self.content.len(),
            super::versions::decode(&self.content),
            self.xattrs.len(),
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.ctime
        )
    }
}

impl Snap {
    pub fn take(scene: &Scene) -> Snap {
        let target = fs::symlink_metadata(&scene.target)
            .ok()
            .map(|m| TargetSnap {
                content: fs::read(&scene.target).unwrap_or_default(),
                xattrs: xattrs(&scene.target),
                ino: m.ino(),
                mode: m.mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                nlink: m.nlink(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            });
        let link = (scene.given != scene.target)
            .then(|| fs::read_link(&scene.given).ok())
            .flatten();
        let b = backup_in(&scene.dir);
        let backup = fs::symlink_metadata(&b)
            .ok()
            .map(|m| (fs::read(&b).unwrap_or_default(), m.ino(), m.mode() & 0o7777));
        Snap {
            names: super::names(&scene.dir),
            target,
            link,
            backup,
        }
    }
}

/// Checks a symlink workload kept its link.
pub fn link_kept(setup: &Setup, now: &Snap) -> Result<(), String> {
    if setup.scene.given != setup.scene.target && now.link.as_deref() != Some(Path::new("t")) {
        return Err(format!("the symlink was not kept: {:?}", now.link));
    }
    Ok(())
}

/// The attributes of [`Workload::xattrs`]: a binary `user.*` value and an
/// access ACL (`u::rw, u:65534:rw, g::r, m::r, o::-`) whose mask `r` keeps the
/// mode at [`OLD_MODE`].
pub fn decorate(path: &Path) {
    let acl: Vec<u8> = [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 6, 65534),
        (0x04, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ]
    .iter()
    .flat_map(|&(tag, perm, id)| {
        [
            tag.to_le_bytes().to_vec(),
            perm.to_le_bytes().to_vec(),
            id.to_le_bytes().to_vec(),
        ]
        .concat()
    })
    .fold(2u32.to_le_bytes().to_vec(), |mut v, b| {
        v.push(b);
        v
    });
    set_xattr(path, "user.kept", &[0, 0xff, 1]);
    set_xattr(path, "system.posix_acl_access", &acl);
}

fn c_path(path: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap()
}

#[allow(unsafe_code)]
fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let (p, n) = (c_path(path), std::ffi::CString::new(name).unwrap());
    // SAFETY: valid C strings; `value` is readable for its length.
    let r = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "setxattr {name} on {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// Every extended attribute of `path` (not following a symlink), sorted.
#[allow(unsafe_code)]
pub fn xattrs(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let p = c_path(path);
    let mut list = vec![0u8; 64 << 10];
    // SAFETY: `p` is a valid C string; `list` is writable for its length.
    let n = unsafe { libc::llistxattr(p.as_ptr(), list.as_mut_ptr().cast(), list.len()) };
    if n <= 0 {
        return Vec::new();
    }
    let mut v: Vec<(Vec<u8>, Vec<u8>)> = list[..n as usize]
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        .filter_map(|name| {
            let c = std::ffi::CString::new(name).unwrap();
            let mut val = vec![0u8; 64 << 10];
            // SAFETY: valid C strings; `val` is writable for its length.
            let m = unsafe {
                libc::lgetxattr(p.as_ptr(), c.as_ptr(), val.as_mut_ptr().cast(), val.len())
            };
            (m >= 0).then(|| {
                val.truncate(m as usize);
                (name.to_vec(), val)
            })
        })
        .collect();
    v.sort();
    v
}
