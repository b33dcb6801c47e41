//! The signals the CLI guards (SIGINT, SIGTERM, SIGHUP, SIGPIPE, and
//! SIGCHLD for the command): blocked while `run` works, let through only
//! while it waits (`ppoll` with an empty mask), recorded in `caught`, and
//! undone when `run` returns (see [`run`](super::run)).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[cfg(target_vendor = "apple")]
use nix::errno::Errno;
#[cfg(not(target_vendor = "apple"))]
pub(crate) use nix::poll::ppoll;
#[cfg(target_vendor = "apple")]
use nix::poll::PollFd;
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};

use super::Failure;

pub(super) const SIGNALS: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGPIPE,
];

/// `ppoll` where the system has none (Apple): the mask swapped in around a
/// `poll` that waits at most [`TICK`]. A signal the swap lets through is
/// delivered before `poll` starts, so a wait misses it for one tick at most;
/// a wait without a timeout that ends on the tick answers `EINTR`, so the
/// callers look at their flags and wait again.
#[cfg(target_vendor = "apple")]
pub(crate) fn ppoll(
    fds: &mut [PollFd<'_>],
    timeout: Option<nix::sys::time::TimeSpec>,
    sigmask: Option<SigSet>,
) -> nix::Result<libc::c_int> {
    use nix::poll::{poll, PollTimeout};
    /// The longest a wait goes without looking at the signal flags.
    const TICK: Duration = Duration::from_millis(50);
    let wait = timeout.map_or(TICK, |t| Duration::from(t).min(TICK));
    let mut old = SigSet::empty();
    if let Some(mask) = &sigmask {
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(mask), Some(&mut old))?;
    }
    let polled = poll(fds, PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX));
    if sigmask.is_some() {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    }
    match polled {
        Ok(0) if timeout.is_none() => Err(Errno::EINTR),
        r => r,
    }
}

/// Lets pending guarded signals run their handler, then reports any caught.
pub(super) fn check_signals(caught: &AtomicUsize) -> Result<(), Failure> {
    let _ = ppoll(&mut [], Some(Duration::ZERO.into()), Some(SigSet::empty()));
    match caught.load(Ordering::SeqCst) {
        0 => Ok(()),
        sig => Err(Failure::Signal(sig as i32)),
    }
}

/// Records the guarded signals in `caught` and blocks them, so they only
/// arrive inside [`wait_readable`](super::input::wait_readable) and [`check_signals`] (and the command's
/// waits). SIGCHLD gets a handler too, blocked the same way, so that the end
/// of the command interrupts those waits.
///
/// A signal ignored when we were started (`nohup`'s SIGHUP, SIGINT for a
/// shell's `&` job) stays ignored, for us and (through `exec`) the command,
/// as a shell leaves it. Not SIGPIPE: Rust's runtime ignores it before
/// `main`, so how we were started is unknown, and a writer's SIGPIPE is ours.
pub(super) fn guard_signals(caught: &Arc<AtomicUsize>) -> io::Result<Guard> {
    let (ignored, handled) = dispositions();
    // Once per process, before our handlers exist: the guarded signals whose
    // action is the default get it back between `run`s (a program that calls
    // `run` and goes on must still die of SIGTERM).
    let outside = OUTSIDE.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            if (ignored | handled) & bit(sig) == 0 {
                let _ =
                    signal_hook::flag::register_conditional_default(sig as i32, Arc::clone(&flag));
            }
        }
        flag
    });
    outside.store(false, Ordering::SeqCst);
    let mut guard = Guard {
        ids: Vec::new(),
        mask: SigSet::empty(),
    };
    let mut set = SigSet::empty();
    for sig in SIGNALS {
        if sig != Signal::SIGPIPE && ignored & bit(sig) != 0 {
            continue;
        }
        let id = signal_hook::flag::register_usize(sig as i32, Arc::clone(caught), sig as usize)?;
        guard.ids.push(id);
        set.add(sig);
    }
    let id = signal_hook::flag::register(libc::SIGCHLD, Arc::new(AtomicBool::new(false)))?;
    guard.ids.push(id);
    set.add(Signal::SIGCHLD);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut guard.mask))
        .map_err(io::Error::from)?;
    Ok(guard)
}

/// Set while no [`run`](super::run) is in progress: see [`guard_signals`].
static OUTSIDE: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();

/// `sig`'s bit in the masks of `/proc/self/status`.
fn bit(sig: Signal) -> u64 {
    1 << (sig as i32 - 1)
}

/// What [`guard_signals`] set up, undone when dropped, for a program that
/// goes on after [`run`](super::run): a guarded signal still pending (it came during the
/// commit, which it does not stop) is taken by our handlers, which are then
/// unregistered; the signal mask is restored; then a signal whose action was
/// the default has it again.
pub(super) struct Guard {
    ids: Vec<signal_hook::SigId>,
    mask: SigSet,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = ppoll(&mut [], Some(Duration::ZERO.into()), Some(SigSet::empty()));
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.mask), None);
        if let Some(outside) = OUTSIDE.get() {
            outside.store(true, Ordering::SeqCst);
        }
    }
}

/// The signals ignored and the signals handled (as masks, bit N-1 for signal
/// N), from `/proc/self/status`; none known without procfs. Ignored when we
/// were started: `nohup`'s SIGHUP, a shell's `&` job's SIGINT.
fn dispositions() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .unwrap_or(0)
    };
    (mask("SigIgn:"), mask("SigCgt:"))
}

/// Dies of `sig` (after the temp has been removed), as if it had not been caught.
pub(super) fn die_of(sig: i32) -> u8 {
    let mut set = SigSet::empty();
    for s in SIGNALS {
        set.add(s);
    }
    let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    u8::try_from(128 + sig).unwrap_or(1)
}
