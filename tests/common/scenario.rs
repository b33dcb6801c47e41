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
}

impl Workload {
    pub fn new(size: usize, overwrite: bool) -> Workload {
        Workload {
            size,
            overwrite,
            symlink: false,
            pipe: false,
        }
    }
    pub fn label(&self) -> String {
        format!(
            "{} {}B{}{}",
            if self.overwrite { "overwrite" } else { "new" },
            self.size,
            if self.symlink { " via symlink" } else { "" },
            if self.pipe { " from a pipe" } else { "" },
        )
    }
}

/// The permission bits of an existing old version: not the default, so that
/// losing or changing them shows.
pub const OLD_MODE: u32 = 0o640;

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

    /// Entries of the directory that are neither the target nor the symlink.
    pub fn temps(&self) -> Vec<String> {
        super::names(&self.scene.dir)
            .into_iter()
            .filter(|n| n != "t" && n != "lnk")
            .collect()
    }

    /// Removes leftover temps (after counting them).
    pub fn remove_temps(&self) {
        for n in self.temps() {
            fs::remove_file(self.scene.dir.join(n)).unwrap();
        }
    }
}

/// The directory's names and the target's content and metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snap {
    pub names: Vec<String>,
    pub target: Option<TargetSnap>,
    /// Where the symlink points, if the workload has one.
    pub link: Option<PathBuf>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TargetSnap {
    pub content: Vec<u8>,
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
            "{} bytes (version {:?}), ino {} mode {:o} owner {}:{} nlink {} mtime {:?} ctime {:?}",
            self.content.len(),
            super::versions::decode(&self.content),
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
        Snap {
            names: super::names(&scene.dir),
            target,
            link,
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
