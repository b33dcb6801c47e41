//! The running kernel: its version, the link protections it applies.
#![allow(unsafe_code)]

use std::ffi::CStr;

use crate::sys::unix::Protection;

/// The running kernel's `(major, minor)`, from `uname`, read once; `(0, 0)`
/// if it cannot be parsed (then nothing that needs a recent kernel is used).
pub(super) fn kernel_version() -> (u32, u32) {
    static VERSION: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        // SAFETY: all-zero bytes are a valid `struct utsname`.
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `u` is a valid out-pointer.
        if unsafe { libc::uname(&mut u) } != 0 {
            return (0, 0);
        }
        // SAFETY: uname NUL-terminates `release`.
        let release = unsafe { CStr::from_ptr(u.release.as_ptr()) };
        parse_kernel_version(&release.to_string_lossy())
    })
}

/// `"6.18.44-fc-v669"` → `(6, 18)`; `(0, 0)` for what does not parse.
fn parse_kernel_version(release: &str) -> (u32, u32) {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor),
        _ => (0, 0),
    }
}

/// The setting of a kernel link protection (`/proc/sys/fs/protected_*`), read
/// only when a case it governs is met; `1` (on) where it can't be read.
pub(crate) fn protection(which: Protection) -> u32 {
    let path = match which {
        Protection::Symlinks => "/proc/sys/fs/protected_symlinks",
        Protection::Regular => "/proc/sys/fs/protected_regular",
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::parse_kernel_version;

    #[test]
    fn kernel_versions() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v669"), (6, 18));
        assert_eq!(parse_kernel_version("5.16.0"), (5, 16));
        assert_eq!(parse_kernel_version("5.17"), (5, 17));
        assert_eq!(parse_kernel_version("4.19.0-25-amd64"), (4, 19));
        assert_eq!(parse_kernel_version("garbage"), (0, 0));
        assert_eq!(parse_kernel_version(""), (0, 0));
        assert!(super::kernel_version() >= (3, 0));
    }
}
