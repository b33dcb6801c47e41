//! `-- COMMAND`: start the command as a clean process, wait for it and for
//! signals together, and on a signal pass it on and leave nothing running.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, pthread_sigmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::signals::{check_signals, ppoll};
use super::Failure;

/// How long processes the command left behind get to end of the signal
/// passed on to them before they are killed.
const GRACE: Duration = Duration::from_secs(1);

/// Starts the command with its standard output piped to us.
///
/// It gets an empty signal mask: ours blocks the signals we wait for, a mask
/// survives `exec`, and std's spawn leaves it as it is. The signals we handle
/// get their default disposition at `exec` (std resets SIGPIPE, which Rust's
/// runtime ignores). On Linux we become the subreaper of what the command
/// starts, so whatever it leaves behind is ours to find and end on a signal.
pub(crate) fn spawn(argv: &[OsString]) -> io::Result<Child> {
    spawn_with(argv, Stdio::inherit(), Stdio::piped())
}

/// [`spawn`] with the given standard input and output (`--validate`'s
/// checker: no input, its output on our standard error).
pub(crate) fn spawn_with(argv: &[OsString], stdin: Stdio, stdout: Stdio) -> io::Result<Child> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let mut ours = SigSet::empty();
    pthread_sigmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        Some(&mut ours),
    )?;
    // A signal arriving meanwhile only sets its flag: checked once the
    // command exists, so it is passed on.
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(stdin)
        .stdout(stdout)
        .spawn();
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&ours), None)?;
    if let Ok(c) = &child {
        COMMAND.store(c.id() as i32, Ordering::SeqCst);
    }
    child
}

/// The command's pid once started (0 before): [`reap_adopted`] leaves it to
/// std's `Child`, which must get its status.
static COMMAND: AtomicI32 = AtomicI32::new(0);

/// Reaps the processes we adopted as the subreaper (orphans the command left
/// behind) that have ended, so none stays a zombie while the command runs
/// (a long command starting many short-lived background jobs would
/// otherwise fill the pid space). Never the command itself: `waitid` with
/// `WNOWAIT` tells which child ended without reaping it, and only others are
/// reaped, by their pid. Called whenever SIGCHLD wakes one of our waits.
// Elsewhere than Linux there is no subreaper and the loop below is gone.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "android")),
    allow(clippy::needless_return)
)]
pub(crate) fn reap_adopted() {
    let command = COMMAND.load(Ordering::SeqCst);
    if command == 0 {
        return;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    loop {
        use nix::sys::wait::{waitid, Id};
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        let pid = match waitid(Id::All, flags) {
            Ok(status) => match status.pid() {
                Some(pid) => pid,
                None => return, // none has ended
            },
            Err(Errno::EINTR) => continue,
            Err(_) => return, // ECHILD: no child at all
        };
        // The command itself stays for std (it is listed first: the
        // others ended while it runs are found once it has been reaped,
        // or by `end_leftovers`).
        if pid.as_raw() == command {
            return;
        }
        let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
    }
}

/// Waits for the command to end, or for a signal: then it is passed on
/// ([`stop`]) and reported as [`Failure::Signal`].
pub(crate) fn wait(child: &mut Child, caught: &AtomicUsize) -> Result<ExitStatus, Failure> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        // SIGCHLD (handled, blocked outside ppoll) wakes us when it ends; a
        // SIGCHLD that came before this ppoll is pending and wakes it at once.
        let _ = ppoll(&mut [], None, Some(SigSet::empty()));
        reap_adopted();
        if let Err(Failure::Signal(sig)) = check_signals(caught) {
            stop(child, sig, caught);
            return Err(Failure::Signal(sig));
        }
    }
}

/// What reading the command's output came to, with the command seen to:
/// a signal is passed on to it ([`stop`]), another failure kills it (ours
/// to stop: we started it, by this PID); either way it is waited for.
pub(crate) fn after_read<T>(
    child: &mut Child,
    read: Result<T, Failure>,
    caught: &AtomicUsize,
) -> Result<T, Failure> {
    match read {
        Ok(r) => Ok(r),
        Err(Failure::Signal(sig)) => {
            stop(child, sig, caught);
            Err(Failure::Signal(sig))
        }
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

/// Passes `sig` on to the command and waits for it (passing on any further
/// signal meanwhile); then ends what it left running.
pub(crate) fn stop(child: &mut Child, sig: i32, caught: &AtomicUsize) {
    let pid = Pid::from_raw(child.id() as i32);
    caught.store(0, Ordering::SeqCst);
    let mut next = sig;
    while let Ok(None) = child.try_wait() {
        if next != 0 {
            send(pid, next);
        }
        let _ = ppoll(&mut [], None, Some(SigSet::empty()));
        next = caught.swap(0, Ordering::SeqCst) as i32;
    }
    end_leftovers(sig);
}

/// Sends `sig` to `pid`, and SIGCONT, so a stopped process gets it too.
fn send(pid: Pid, sig: i32) {
    if let Ok(sig) = Signal::try_from(sig) {
        let _ = kill(pid, sig);
        let _ = kill(pid, Signal::SIGCONT);
    }
}

/// Ends the processes the command left running: each is adopted by us once
/// its parent has ended (we are their subreaper), gets `sig`, and after
/// [`GRACE`] SIGKILL; returns once we have no child left. Without `/proc` to
/// find them, returns at once.
fn end_leftovers(sig: i32) {
    let start = Instant::now();
    let mut signalled = Vec::new();
    loop {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) => {}
                Err(Errno::EINTR) => {}
                Err(_) => return, // ECHILD: none left
            }
        }
        let Some(children) = children() else {
            return;
        };
        let late = start.elapsed() >= GRACE;
        for pid in children {
            if late {
                let _ = kill(pid, Signal::SIGKILL);
            } else if !signalled.contains(&pid) {
                signalled.push(pid);
                send(pid, sig);
            }
        }
        // Woken by SIGCHLD, or in time for the next scan.
        let tick = Duration::from_millis(50);
        let _ = ppoll(&mut [], Some(tick.into()), Some(SigSet::empty()));
    }
}

/// Our child processes, from `/proc/*/stat`; `None` without procfs.
fn children() -> Option<Vec<Pid>> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue; // ended meanwhile
        };
        // `PID (COMM) STATE PPID ...`; COMM may hold spaces and parentheses.
        let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
        if fields.nth(1) == Some(me.as_str()) {
            found.push(Pid::from_raw(pid));
        }
    }
    Some(found)
}
