//! Self-validating file versions for the crash and concurrency suites.
//!
//! A version is a header line `AWV1 <version> <body length> <crc32 hex>\n`
//! followed by a body of pseudo-random bytes derived from the version number.
//! Any torn, truncated, empty or mixed file fails [`decode`]; [`encode`] of the
//! decoded version reproduces a whole file exactly. The Python reader in
//! [`super::writers::READER_PY`] checks the same format.

/// Body sizes of the workloads: empty, one byte, a page, a page and a bit
/// (not page aligned), 1 MiB, and several MiB.
pub const SIZES: [usize; 6] = [0, 1, 4096, 9000, 1 << 20, 4 << 20];

/// The whole file for `version` with a body of `size` bytes.
pub fn encode(version: u64, size: usize) -> Vec<u8> {
    let body = body(version, size);
    let crc = crc32fast::hash(&body);
    let mut out = format!("AWV1 {version} {size} {crc:08x}\n").into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Deterministic pseudo-random bytes (xorshift64*), different for each version.
fn body(version: u64, size: usize) -> Vec<u8> {
    let mut x = version.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(size + 8);
    while out.len() < size {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(size);
    out
}

/// The version a whole, valid file holds; `Err` says what is wrong with it.
pub fn decode(data: &[u8]) -> Result<u64, String> {
    let nl = data
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| format!("no header line in {} bytes", data.len()))?;
    let header = std::str::from_utf8(&data[..nl]).map_err(|_| "header is not UTF-8".to_string())?;
    let parts: Vec<&str> = header.split(' ').collect();
    let [magic, version, len, crc] = parts[..] else {
        return Err(format!("bad header {header:?}"));
    };
    if magic != "AWV1" {
        return Err(format!("bad magic in {header:?}"));
    }
    let version: u64 = version
        .parse()
        .map_err(|_| format!("bad version {header:?}"))?;
    let len: usize = len.parse().map_err(|_| format!("bad length {header:?}"))?;
    let crc = u32::from_str_radix(crc, 16).map_err(|_| format!("bad crc {header:?}"))?;
    let body = &data[nl + 1..];
    if body.len() != len {
        return Err(format!(
            "version {version}: body has {} bytes, header says {len}",
            body.len()
        ));
    }
    if crc32fast::hash(body) != crc {
        return Err(format!("version {version}: checksum mismatch"));
    }
    Ok(version)
}

/// Asserts `data` is exactly version `want` of `size` bytes (or one of `want`).
#[track_caller]
pub fn assert_one_of(data: &[u8], want: &[u64], size: usize, what: &str) -> u64 {
    let v = decode(data).unwrap_or_else(|e| panic!("{what}: invalid content: {e}"));
    assert!(
        want.contains(&v),
        "{what}: version {v}, expected one of {want:?}"
    );
    assert!(
        data == encode(v, size),
        "{what}: version {v} differs from its encoding"
    );
    v
}
