//! Names and paths as C strings, on the stack when they fit (as std does for
//! its own path calls): a write passes names to half a dozen calls.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;

/// Bytes a [`CName`] holds without allocating, its NUL included: any file
/// name (`NAME_MAX` is 255), and most paths.
const INLINE: usize = 256;

/// A name or path as a C string.
#[allow(clippy::large_enum_variant)] // The point: no allocation.
pub(crate) enum CName {
    /// The first `len` bytes of `buf` and a NUL after them are initialised.
    Inline {
        buf: [MaybeUninit<u8>; INLINE],
        len: usize,
    },
    /// Too long for the stack.
    Heap(CString),
}

impl std::ops::Deref for CName {
    type Target = CStr;

    fn deref(&self) -> &CStr {
        match self {
            CName::Inline { buf, len } => {
                // SAFETY: `cstr` initialised `len + 1` bytes: a name without
                // NUL bytes and the NUL after it.
                unsafe {
                    CStr::from_bytes_with_nul_unchecked(std::slice::from_raw_parts(
                        buf.as_ptr().cast::<u8>(),
                        len + 1,
                    ))
                }
            }
            CName::Heap(c) => c,
        }
    }
}

/// `name` as a C string; a NUL byte inside is `InvalidInput`.
pub(crate) fn cstr(name: &OsStr) -> io::Result<CName> {
    let b = name.as_bytes();
    if b.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file name contains a NUL byte",
        ));
    }
    if b.len() >= INLINE {
        return Ok(CName::Heap(CString::new(b).expect("checked above")));
    }
    let mut buf = [MaybeUninit::<u8>::uninit(); INLINE];
    for (d, &s) in buf.iter_mut().zip(b) {
        d.write(s);
    }
    buf[b.len()].write(0);
    Ok(CName::Inline { buf, len: b.len() })
}

#[cfg(test)]
mod tests {
    use super::{cstr, CName, INLINE};
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    /// On the stack or not, the C string is the name; a NUL inside is refused.
    #[test]
    fn cstr_holds_any_length() {
        for n in [0, 1, 255, INLINE - 1, INLINE, INLINE + 1, 5000] {
            let name = vec![b'x'; n];
            let c = cstr(OsStr::from_bytes(&name)).unwrap();
            assert_eq!(c.to_bytes(), &name[..], "length {n}");
            assert_eq!(matches!(c, CName::Inline { .. }), n < INLINE, "length {n}");
        }
        for bad in [&b"a\0b"[..], b"\0", b"abc\0"] {
            let e = cstr(OsStr::from_bytes(bad)).err().unwrap();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        }
    }
}
