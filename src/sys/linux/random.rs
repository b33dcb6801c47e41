//! The kernel's random source (`getrandom`), the seed of the temp names.
#![allow(unsafe_code)]

use std::io;

use crate::sys::unix;

/// Fills `buf` from the kernel's random source (`getrandom(2)`), falling back
/// to `/dev/urandom` on kernels without the call (`ENOSYS`, before 3.17) and
/// in sandboxes that refuse it (`EPERM`). Called once per process (the seed
/// of the temp names), so the answer is not remembered.
///
/// The raw syscall, not `libc::getrandom`: the glibc wrapper is versioned
/// `getrandom@GLIBC_2.25`, and importing it would keep the crate from linking
/// on the glibc 2.17–2.24 systems Rust supports.
pub(crate) fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the pointer and length describe `rest`, writable memory owned by us.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getrandom,
                rest.as_mut_ptr(),
                rest.len(),
                0 as libc::c_uint,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ENOSYS) | Some(libc::EPERM) => return unix::fill_random(buf),
                _ => return Err(e),
            }
        }
        done += n as usize;
    }
    Ok(())
}
