//! The `paths` oracle: a write to an arbitrary path inside a scratch tree
//! either fails and changes nothing, or succeeds and changes exactly the one
//! file a POSIX path lookup says the path names.
//!
//! The scratch directory `R` holds `R/box` (where paths start) and a sibling
//! `R/sentinel`. The model resolves the path as the kernel does (physically:
//! `..` after a symlink to a directory goes to that directory's parent) plus
//! the library's rules for the last component (followed if a symlink, unless
//! `no_clobber`, where a symlink counts as an existing target; a
//! directory, FIFO, `.`, `..`, trailing slash, empty path or a NUL byte is an
//! error). Paths the model places outside `R/box` are not run. Before and after
//! each call the whole tree under `R` is snapshotted (kinds, contents, modes,
//! link targets): any other difference — a temp left, a write elsewhere, the
//! sentinel touched — fails.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use atomic_write::Options;

/// One call: a path relative to `R/box` (empty means the empty path) and options.
#[derive(Clone, Debug)]
pub struct PathCase {
    pub rel: Vec<u8>,
    pub follow: bool,
    pub no_clobber: bool,
    pub named: bool,
    /// `write_bytes` if true, else `create`, write, drop.
    pub commit: bool,
    /// Pass `rel` as is, from `R/box` as the working directory, rather than
    /// joined onto `R/box`.
    pub relative: bool,
}

/// The working directory, changed for the life of this guard.
struct Cwd(std::path::PathBuf);

impl Cwd {
    fn enter(dir: &Path) -> Cwd {
        let old = std::env::current_dir().unwrap();
        std::env::set_current_dir(dir).unwrap();
        Cwd(old)
    }
}

impl Drop for Cwd {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir(&self.0);
    }
}

const DATA: &[u8] = b"written by the fuzzer\n";
const UMASK: u32 = 0o022;
/// Paths this long may fail with `ENAMETOOLONG` whatever they name (PATH_MAX
/// is 4096 with the NUL; the library lengthens some while following links).
const LONG: usize = 4096 - 64;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>, u32),
    Link(Vec<u8>),
    Fifo,
}

/// Everything under `R`, by path relative to it (components joined by `/`).
type Tree = BTreeMap<Vec<u8>, Node>;

fn setup(r: &Path) -> Tree {
    let mut t = Tree::new();
    let abs_d = [r.as_os_str().as_bytes(), b"/box/d"].concat();
    let long = [b"box/".as_slice(), &[b'x'; 255]].concat();
    let entries: Vec<(&[u8], Node)> = vec![
        (b"box", Node::Dir),
        (b"box/a", Node::File(b"A\n".to_vec(), 0o640)),
        (b"box/d", Node::Dir),
        (b"box/d/b", Node::File(b"B\n".to_vec(), 0o600)),
        (b"box/d/e", Node::Dir),
        (b"box/la", Node::Link(b"a".to_vec())),
        (b"box/ld", Node::Link(b"d/e".to_vec())),
        (b"box/dang", Node::Link(b"nothere".to_vec())),
        (b"box/loop", Node::Link(b"loop".to_vec())),
        (b"box/up", Node::Link(b"..".to_vec())),
        (b"box/abs", Node::Link(abs_d)),
        (b"box/dslash", Node::Link(b"nothere/".to_vec())),
        (b"box/fifo", Node::Fifo),
        (&long, Node::File(b"L\n".to_vec(), 0o644)),
        (b"sentinel", Node::Dir),
        (b"sentinel/keep", Node::File(b"keep\n".to_vec(), 0o644)),
    ];
    for (rel, node) in entries {
        let p = r.join(OsStr::from_bytes(rel));
        match &node {
            Node::Dir => fs::create_dir(&p).unwrap(),
            Node::File(c, m) => {
                fs::write(&p, c).unwrap();
                fs::set_permissions(&p, fs::Permissions::from_mode(*m)).unwrap();
            }
            Node::Link(to) => std::os::unix::fs::symlink(OsStr::from_bytes(to), &p).unwrap(),
            Node::Fifo => {
                let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
                // SAFETY: `c` is a valid C string.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            }
        }
        t.insert(rel.to_vec(), node);
    }
    t
}

fn snapshot(r: &Path) -> Tree {
    fn walk(dir: &Path, rel: &[u8], t: &mut Tree) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            let key = if rel.is_empty() {
                name.as_bytes().to_vec()
            } else {
                [rel, b"/", name.as_bytes()].concat()
            };
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let node = if ft.is_dir() {
                walk(&p, &key, t);
                Node::Dir
            } else if ft.is_symlink() {
                Node::Link(fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec())
            } else if ft.is_fifo() {
                Node::Fifo
            } else {
                Node::File(fs::read(&p).unwrap(), m.permissions().mode() & 0o7777)
            };
            t.insert(key, node);
        }
    }
    let mut t = Tree::new();
    walk(r, b"", &mut t);
    t
}

enum Fail {
    /// The library must refuse.
    Invalid,
    /// The path leaves `R/box`: not run.
    Escape,
}

/// Path lookup over the model tree. Locations are component lists under `R`.
struct Walker<'a> {
    tree: &'a Tree,
    r: &'a [u8],
    links: u32,
}

impl Walker<'_> {
    fn node(&self, loc: &[Vec<u8>]) -> Option<&Node> {
        self.tree.get(&loc.join(&b'/'))
    }

    fn follow_link(&mut self) -> Result<(), Fail> {
        self.links += 1;
        if self.links > 40 {
            return Err(Fail::Invalid);
        }
        Ok(())
    }

    /// Where `path` starts: `R`-relative for an absolute path under `R`.
    fn start<'p>(
        &self,
        from: Vec<Vec<u8>>,
        path: &'p [u8],
    ) -> Result<(Vec<Vec<u8>>, &'p [u8]), Fail> {
        if !path.starts_with(b"/") {
            Ok((from, path))
        } else if path.starts_with(self.r) && path[self.r.len()..].starts_with(b"/") {
            Ok((Vec::new(), &path[self.r.len()..]))
        } else {
            Err(Fail::Escape)
        }
    }

    /// From directory `cur` through one non-final component: a directory.
    fn step(&mut self, mut cur: Vec<Vec<u8>>, c: &[u8]) -> Result<Vec<Vec<u8>>, Fail> {
        match c {
            b"" | b"." => Ok(cur),
            b".." => match cur.pop() {
                Some(_) => Ok(cur),
                None => Err(Fail::Escape),
            },
            _ if c.len() > 255 => Err(Fail::Invalid),
            _ => {
                let mut next = cur.clone();
                next.push(c.to_vec());
                match self.node(&next).cloned() {
                    Some(Node::Dir) => Ok(next),
                    Some(Node::Link(to)) => {
                        self.follow_link()?;
                        let (mut d, rest) = self.start(cur, &to)?;
                        for c in rest.split(|&b| b == b'/') {
                            d = self.step(d, c)?;
                        }
                        Ok(d)
                    }
                    _ => Err(Fail::Invalid),
                }
            }
        }
    }

    /// The file a write to `path` (from directory `from`) replaces or creates.
    fn target(
        &mut self,
        from: Vec<Vec<u8>>,
        path: &[u8],
        follow: bool,
    ) -> Result<Vec<Vec<u8>>, Fail> {
        if path.is_empty() || path.contains(&0) {
            return Err(Fail::Invalid);
        }
        let (mut cur, rest) = self.start(from, path)?;
        let comps: Vec<&[u8]> = rest.split(|&b| b == b'/').collect();
        let (last, dirs) = comps.split_last().expect("split yields one at least");
        for c in dirs {
            cur = self.step(cur, c)?;
        }
        // Trailing slash (an empty last component), `.` or `..`: not a file name.
        if matches!(*last, b"" | b"." | b"..") || last.len() > 255 {
            return Err(Fail::Invalid);
        }
        let mut loc = cur.clone();
        loc.push(last.to_vec());
        match self.node(&loc).cloned() {
            Some(Node::Link(to)) if follow => {
                self.follow_link()?;
                self.target(cur, &to, true)
            }
            _ => Ok(loc),
        }
    }
}

/// Runs one case in a fresh scratch tree under `base`; panics on any difference
/// from the model.
pub fn check(case: &PathCase, base: &Path) {
    // SAFETY: umask only swaps the process's file mode mask.
    unsafe { libc::umask(UMASK as libc::mode_t) };
    let scratch = tempfile::Builder::new()
        .prefix("aw-paths-")
        .tempdir_in(base)
        .unwrap();
    let r = scratch.path();
    let before = setup(r);
    assert_eq!(snapshot(r), before, "setup");

    let rb = r.as_os_str().as_bytes();
    let abs_bytes = [rb, b"/box/", &case.rel].concat();
    // Relative: resolved against the working directory, which is R/box for
    // this call (the fuzzer runs one input at a time on one thread).
    let path_bytes = if case.rel.is_empty() || case.relative {
        case.rel.clone()
    } else {
        abs_bytes.clone()
    };
    let path = Path::new(OsStr::from_bytes(&path_bytes));
    let _cwd = case.relative.then(|| Cwd::enter(&r.join("box")));

    let mut w = Walker {
        tree: &before,
        r: rb,
        links: 0,
    };
    let start = vec![b"box".to_vec()];
    // Ok((key, new node)) for a write that must succeed; Err(()) for one that must fail.
    // With no_clobber a symlink at the path, dangling or not, is an existing
    // target (`O_CREAT|O_EXCL`): the last component is not followed.
    let follow = case.follow && !case.no_clobber;
    let want: Result<(Vec<u8>, Node), ()> = match w.target(start, &case.rel, follow) {
        Err(Fail::Escape) => return,
        Err(Fail::Invalid) => Err(()),
        Ok(loc) if loc.first().map(Vec::as_slice) != Some(b"box") => return,
        Ok(loc) => {
            let key = loc.join(&b'/');
            match before.get(&key) {
                Some(Node::Dir | Node::Fifo) => Err(()),
                Some(_) if case.no_clobber => Err(()),
                Some(Node::File(_, mode)) => Ok((key, Node::File(DATA.to_vec(), *mode))),
                _ => Ok((key, Node::File(DATA.to_vec(), 0o666 & !UMASK))),
            }
        }
    };
    let may_fail = abs_bytes.len() >= LONG;

    let mut opts = Options::new();
    opts.follow_symlinks(case.follow)
        .no_clobber(case.no_clobber)
        .unnamed_temp(!case.named)
        .durability(atomic_write::Durability::None);
    let got = if case.commit {
        opts.write_bytes(path, DATA).map(|()| true)
    } else {
        opts.create(path)
            .and_then(|mut f| f.write_all(DATA))
            .map(|()| false)
    };
    let after = snapshot(r);
    match (&got, &want) {
        (Ok(committed), Ok((key, node))) => {
            let mut expected = before.clone();
            if *committed {
                expected.insert(key.clone(), node.clone());
            }
            assert_eq!(
                after,
                expected,
                "{case:?}: write to {}",
                String::from_utf8_lossy(key)
            );
        }
        (Err(_), Err(())) => assert_eq!(after, before, "{case:?}: failed write changed the tree"),
        (Err(_), Ok(_)) if may_fail => {
            assert_eq!(after, before, "{case:?}: failed write changed the tree")
        }
        (got, want) => panic!(
            "{case:?}: path {:?}: got {got:?}, model {}",
            path,
            match want {
                Ok((k, _)) => format!("a write to {:?}", String::from_utf8_lossy(k)),
                Err(()) => "an error".into(),
            }
        ),
    }

    // Sweeping any path must not panic, hang or remove anything young.
    let _ = atomic_write::sweep(path, Duration::from_secs(1 << 40));
    assert_eq!(snapshot(r), after, "{case:?}: sweep changed the tree");
}
