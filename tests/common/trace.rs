//! Recording a writer's syscalls with `strace -f`, finding its commit path,
//! auditing the durability protocol, and re-running it with one syscall
//! occurrence tampered with (`-e inject=SYSCALL:...:when=N`).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::writers::Writer;

/// One syscall from an `strace -f` log.
#[derive(Clone, Debug)]
pub struct Call {
    pub pid: u32,
    pub name: String,
    /// This call is the `nth` call of `name` by `pid` (from 1), as `when=` counts.
    pub nth: u32,
    pub args: Vec<String>,
    /// The return value as printed (`0`, `3`, `-1 EIO (...)`, `?`).
    pub ret: String,
    /// strace tampered with this call.
    pub injected: bool,
    pub line: String,
}

impl Call {
    /// The call returned successfully (a non-negative value).
    pub fn ok(&self) -> bool {
        !self.ret.starts_with('-') && self.ret != "?"
    }
    /// The return value as a number, if it is one.
    pub fn ret_num(&self) -> Option<i64> {
        self.ret.split(' ').next()?.parse().ok()
    }
}

/// Syscalls of the language runtime (memory, signals, teardown), not of the
/// commit itself: not tampered with.
const RUNTIME: &[&str] = &[
    "mmap",
    "munmap",
    "mremap",
    "brk",
    "mprotect",
    "madvise",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "futex",
    "exit_group",
    "exit",
    "getpid",
    "gettid",
    "clock_gettime",
];

/// Syscalls that make data or directory entries durable (or, for
/// `sync_file_range`, write them back and report their errors: `commit_all`
/// relies on it after `syncfs`, and must not rename after it fails).
pub fn is_sync(name: &str) -> bool {
    matches!(
        name,
        "fsync" | "fdatasync" | "syncfs" | "sync" | "sync_file_range"
    )
}

/// Syscalls that put a file under a name.
fn is_rename_or_link(name: &str) -> bool {
    matches!(
        name,
        "rename" | "renameat" | "renameat2" | "link" | "linkat"
    )
}

/// Parses an `strace -f -o` log (lines `PID name(args) = ret`).
pub fn parse(log: &str) -> Vec<Call> {
    let mut counts: HashMap<(u32, String), u32> = HashMap::new();
    let mut calls = Vec::new();
    for line in log.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<u32>() else {
            continue;
        };
        let rest = rest.trim_start();
        if rest.starts_with("+++") || rest.starts_with("---") || rest.starts_with('<') {
            continue;
        }
        let Some(open) = rest.find('(') else { continue };
        let name = rest[..open].to_string();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let body = &rest[open + 1..];
        // strace pads the ` = ` column: `close(3)      = 0`.
        let split = body
            .rfind(" = ")
            .filter(|&i| body[..i].trim_end().ends_with(')'));
        let (args, ret) = match split {
            Some(i) => (
                body[..i].trim_end().strip_suffix(')').unwrap_or_default(),
                body[i + 3..].trim().to_string(),
            ),
            // Killed on entry: `name(args <unfinished ...>` or `name(args) = ?`.
            None => (
                body.trim_end_matches(" <unfinished ...>")
                    .trim_end_matches(')'),
                "?".to_string(),
            ),
        };
        let n = counts.entry((pid, name.clone())).or_insert(0);
        *n += 1;
        calls.push(Call {
            pid,
            nth: *n,
            args: split_args(args),
            injected: ret.contains("(INJECTED)"),
            ret,
            name,
            line: line.to_string(),
        });
    }
    calls
}

/// Splits strace's argument list at top-level commas.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut esc) = (0i32, false, false);
    let mut cur = String::new();
    for c in s.chars() {
        if in_str {
            cur.push(c);
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                cur.push(c)
            }
            '[' | '{' | '(' => {
                depth += 1;
                cur.push(c)
            }
            ']' | '}' | ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The string inside an strace-quoted argument (`"a/b"` → `a/b`), if quoted.
fn unquote(arg: &str) -> Option<&str> {
    arg.strip_prefix('"')?.strip_suffix('"')
}

/// What a scenario writes: the directory, the path the writer is given, and
/// the final file it must replace (the same unless a symlink is followed).
#[derive(Clone, Debug)]
pub struct Scene {
    pub dir: PathBuf,
    pub given: PathBuf,
    pub target: PathBuf,
}

/// A recorded commit: its calls and the landmarks on its commit path.
#[derive(Debug)]
pub struct Commit {
    pub calls: Vec<Call>,
    /// Indices into `calls` of the commit path, in order.
    pub path: Vec<usize>,
    /// Index of the call that first gave a temp file a name in the directory.
    pub temp_named: Option<usize>,
    /// Index of the rename (or link) that put the new content at the target.
    pub renamed: Option<usize>,
    /// Protocol violations found by [`audit`].
    pub violations: Vec<String>,
}

/// What one fd refers to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fd {
    Dir,
    Temp,
    Other,
}

/// Finds the commit path and audits the protocol of one recorded, successful
/// commit: the target is never opened for writing in place; the temp's data is
/// synced after its last write and before the rename; the directory is synced
/// after the rename.
pub fn audit(calls: Vec<Call>, scene: &Scene) -> Commit {
    let dir = scene.dir.to_string_lossy().into_owned();
    let mentions_dir = |c: &Call| {
        c.args
            .iter()
            .any(|a| unquote(a).is_some_and(|p| p == dir || p.starts_with(&format!("{dir}/"))))
    };
    let start = calls.iter().position(mentions_dir);
    let path: Vec<usize> = match start {
        // Calls this strace cannot name (`syscall_0x1d1`: `listxattrat`, newer
        // than strace 6.1) cannot be targeted by `-e inject=NAME`: left out of
        // the path replayed (they are reads before the temp exists).
        Some(s) => (s..calls.len())
            .filter(|&i| {
                !RUNTIME.contains(&calls[i].name.as_str()) && !calls[i].name.starts_with("syscall_")
            })
            .collect(),
        None => vec![],
    };
    let targets = [scene.given.clone(), scene.target.clone()];

    let mut fds: HashMap<i64, Fd> = HashMap::new();
    let mut violations = Vec::new();
    let (mut temp_named, mut renamed) = (None, None);
    let mut temp_clean = false; // the temp's data is synced since its last write
    let mut temp_seen = false;
    let mut dir_synced_after = false;
    // A path argument (absolute, or relative to a directory fd we know).
    let resolve = |fds: &HashMap<i64, Fd>, dirfd: Option<&str>, p: &str| -> Option<PathBuf> {
        if p.starts_with('/') {
            return Some(PathBuf::from(p));
        }
        match dirfd.and_then(|d| d.parse::<i64>().ok()) {
            Some(fd) if fds.get(&fd) == Some(&Fd::Dir) => Some(scene.dir.join(p)),
            _ => None,
        }
    };
    let in_dir = |p: &Path| p.parent() == Some(scene.dir.as_path()) || p == scene.dir;
    let fd_arg = |c: &Call, i: usize| c.args.get(i).and_then(|a| a.parse::<i64>().ok());

    for &i in &path {
        let c = &calls[i];
        let name = c.name.as_str();
        match name {
            "open" | "openat" | "creat" => {
                let (dirfd, p, flags) = match name {
                    "openat" => (
                        c.args.first().map(String::as_str),
                        c.args.get(1),
                        c.args.get(2),
                    ),
                    "creat" => (
                        None,
                        c.args.first(),
                        Some(&"O_CREAT|O_WRONLY|O_TRUNC".to_string()),
                    ),
                    _ => (None, c.args.first(), c.args.get(1)),
                };
                let (Some(p), Some(flags)) = (p.and_then(|p| unquote(p)), flags) else {
                    continue;
                };
                let Some(full) = resolve(&fds, dirfd, p) else {
                    continue;
                };
                let full = if p == "." { scene.dir.clone() } else { full };
                let writes = flags.contains("O_WRONLY")
                    || flags.contains("O_RDWR")
                    || flags.contains("O_TRUNC");
                if targets.contains(&full) && writes && c.ok() {
                    violations.push(format!("opens the target for writing in place: {}", c.line));
                }
                let Some(fd) = c.ret_num().filter(|&n| n >= 0) else {
                    continue;
                };
                let kind = if flags.contains("O_TMPFILE") {
                    temp_seen = true;
                    Fd::Temp
                } else if full == scene.dir {
                    Fd::Dir
                } else if in_dir(&full) && flags.contains("O_CREAT") && !targets.contains(&full) {
                    temp_seen = true;
                    temp_named.get_or_insert(i);
                    Fd::Temp
                } else {
                    Fd::Other
                };
                fds.insert(fd, kind);
            }
            "close" => {
                if let Some(fd) = fd_arg(c, 0) {
                    fds.remove(&fd);
                }
            }
            "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" | "ftruncate"
            | "fallocate" | "sendfile" | "copy_file_range" | "splice" => {
                let arg = if matches!(name, "copy_file_range" | "splice") {
                    2
                } else {
                    0
                };
                let wrote = c.ret_num().is_some_and(|n| n > 0) || name == "ftruncate";
                if fd_arg(c, arg).and_then(|fd| fds.get(&fd)) == Some(&Fd::Temp) && wrote {
                    temp_clean = false;
                }
            }
            // `syncfs` through any descriptor on the filesystem syncs every temp on it.
            "syncfs" if c.ok() && fd_arg(c, 0).is_some_and(|fd| fds.contains_key(&fd)) => {
                temp_clean = true;
            }
            // Starts writeback, makes nothing durable: not a sync of the temp.
            "sync_file_range" => {}
            n if is_sync(n) && c.ok() => match fd_arg(c, 0).and_then(|fd| fds.get(&fd)) {
                Some(Fd::Temp) => temp_clean = true,
                Some(Fd::Dir) if renamed.is_some() => dir_synced_after = true,
                _ => {}
            },
            n if is_rename_or_link(n) && c.ok() => {
                // The destination is the last path argument (before linkat's or
                // renameat2's flags).
                let quoted: Vec<(usize, &str)> = c
                    .args
                    .iter()
                    .enumerate()
                    .filter_map(|(k, a)| unquote(a).map(|s| (k, s)))
                    .collect();
                let Some(&(k, dest)) = quoted.last() else {
                    continue;
                };
                let dirfd = if n.ends_with("at") || n == "renameat2" {
                    c.args.get(k - 1).map(String::as_str)
                } else {
                    None
                };
                let Some(full) = resolve(&fds, dirfd, dest) else {
                    continue;
                };
                if targets.contains(&full) {
                    if renamed.is_none() {
                        renamed = Some(i);
                        if temp_seen && !temp_clean {
                            violations.push(format!(
                                "renames the temp into place without syncing its data first: {}",
                                c.line
                            ));
                        }
                    }
                } else if in_dir(&full) && n.starts_with("link") {
                    temp_named.get_or_insert(i);
                }
            }
            _ => {}
        }
    }
    match renamed {
        None if violations.is_empty() => {
            violations.push("never renames a temp file into place".to_string())
        }
        Some(_) if !dir_synced_after => {
            violations.push("never syncs the directory after the rename".to_string())
        }
        _ => {}
    }
    Commit {
        calls,
        path,
        temp_named,
        renamed,
        violations,
    }
}

/// Runs `writer` on `scene.given` with stdin from `input` under
/// `strace -f -o LOG` plus `extra` strace options; returns its output and log.
pub fn run(
    writer: Writer,
    scene: &Scene,
    input: &Input,
    extra: &[String],
    log: &Path,
) -> (Output, String) {
    let (argv, env) = writer.argv(&scene.given);
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-o"])
        .arg(log)
        .args(extra)
        .arg("--")
        .args(&argv)
        .envs(env);
    c.stdin(input.stdio())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("failed to run strace: {e}"));
    let text = std::fs::read_to_string(log).unwrap_or_default();
    (out, text)
}

/// Where the writer's standard input comes from.
#[derive(Clone, Debug)]
pub enum Input {
    /// A regular file (the CLI takes the `copy_file_range` path).
    File(PathBuf),
    /// A pipe filled and closed before the writer starts (at most 64 KiB).
    Pipe(std::sync::Arc<Vec<u8>>),
}

impl Input {
    pub fn stdio(&self) -> Stdio {
        match self {
            Input::File(p) => File::open(p)
                .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
                .into(),
            Input::Pipe(data) => {
                use std::io::Write;
                assert!(data.len() <= 65536, "a pipe holds 64 KiB");
                let (r, w) = pipe();
                File::from(w).write_all(data).expect("fill pipe");
                r.into()
            }
        }
    }
}

/// `pipe2(O_CLOEXEC)` (`std::io::pipe` needs Rust 1.87; the crate's MSRV is 1.85).
#[allow(unsafe_code)]
fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both fds were just created by pipe2 and are owned by nobody else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    }
}

/// Records one successful commit of `writer` on a fresh `w` and audits it;
/// the kill and fault-injection harnesses replay its commit path.
pub fn record(writer: Writer, w: &super::scenario::Workload) -> Commit {
    let setup = super::scenario::Setup::new(w);
    let log = setup.scene.dir.with_file_name("record.log");
    let (out, text) = run(writer, &setup.scene, &setup.input, &[], &log);
    assert!(
        out.status.success(),
        "{} failed on {} without faults: {}",
        writer.name(),
        w.label(),
        String::from_utf8_lossy(&out.stderr)
    );
    let commit = audit(parse(&text), &setup.scene);
    assert!(
        !commit.path.is_empty(),
        "{}: no commit path found in the trace",
        writer.name()
    );
    commit
}
