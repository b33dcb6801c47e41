//! Counting forks: whether a lock must be released explicitly, and whether
//! this process is a forked child of the one that made a temp.
#![allow(unsafe_code)]

/// Forks this process made (counted by a `pthread_atfork` handler in the
/// parent, registered on the first call). A forked child shares our open
/// file descriptions, and with them our `flock`s: a lock taken before a fork
/// must be released explicitly, not by closing. Comparing two counts tells
/// whether that is needed without a syscall.
pub(crate) fn fork_count() -> u64 {
    register_fork_handlers();
    FORKS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Forks between the process that first asked and this one (counted by a
/// `pthread_atfork` handler in the child): a value other than the one read
/// at `create()` means this is a forked child, which must leave the
/// parent's temp alone. No syscall (`getpid` is one on current C libraries).
pub(crate) fn fork_generation() -> u64 {
    register_fork_handlers();
    GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

fn register_fork_handlers() {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers handlers that only increment an atomic (async-
        // signal-safe); no pointer is passed but the functions'.
        let _ = unsafe { libc::pthread_atfork(None, Some(count_fork), Some(count_generation)) };
    });
}

static FORKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn count_generation() {
    GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

extern "C" fn count_fork() {
    FORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}
