//! Counting forks: there is no `fork` on Windows.

/// No `fork` on Windows: always 0.
pub(crate) fn fork_count() -> u64 {
    0
}

/// No `fork` on Windows: always 0.
pub(crate) fn fork_generation() -> u64 {
    0
}
