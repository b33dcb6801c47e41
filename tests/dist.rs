//! What the crate ships besides its code: the license texts in the published
//! package.

mod common;

use std::path::Path;
use std::process::Command;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(name: &str) -> String {
    let path = manifest_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `cargo package --list`: the files `cargo publish` would upload. Offline and
/// quick (nothing is built or fetched).
fn packaged_files() -> Vec<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = common::run(
        Command::new(cargo)
            .args(["package", "--list", "--allow-dirty", "--offline"])
            .current_dir(manifest_dir()),
    );
    assert!(
        out.status.success(),
        "cargo package --list failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("cargo package --list prints UTF-8 paths")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `license = "MIT OR Apache-2.0"` promises both texts; the package carries
/// them, with the documents README links to, and not the fuzz or CI trees.
#[test]
fn package_carries_the_license_texts() {
    let files = packaged_files();
    for name in [
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "README.md",
        "TESTING.md",
        "BENCHMARKS.md",
        "CHANGELOG.md",
    ] {
        assert!(
            files.iter().any(|f| f == name),
            "{name} missing from `cargo package --list`: {files:?}"
        );
    }
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("fuzz/") || f.starts_with(".ci/")),
        "fuzz/ and .ci/ are excluded from the package: {files:?}"
    );

    assert!(
        read("Cargo.toml").contains("license = \"MIT OR Apache-2.0\""),
        "Cargo.toml's license changed: update the license files and this test"
    );
    let mit = read("LICENSE-MIT");
    assert!(mit.starts_with("Copyright (c) "), "{mit}");
    assert!(
        mit.contains("Permission is hereby granted, free of charge, to any")
            && mit.contains("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF"),
        "LICENSE-MIT is not the MIT license text"
    );
    let apache = read("LICENSE-APACHE");
    assert!(
        apache.contains("Apache License")
            && apache.contains("Version 2.0, January 2004")
            && apache.contains("END OF TERMS AND CONDITIONS"),
        "LICENSE-APACHE is not the Apache License 2.0 text"
    );
}
