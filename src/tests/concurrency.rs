//! Writers and readers at the same time: one whole version wins, readers
//! see the old or the new content whole.

use std::fs;
use std::io;
use std::sync::Arc;

use super::{names, no_temp, tmp};

#[test]
fn concurrent_writers_leave_one_whole_version() {
    let d = tmp();
    let p = Arc::new(d.path().join("f"));
    let handles: Vec<_> = (0..4u8)
        .map(|i| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                for _ in 0..10 {
                    crate::write_bytes(&*p, &[b'a' + i; 4096]).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let c = fs::read(&*p).unwrap();
    assert_eq!(c.len(), 4096);
    assert!(c.iter().all(|&b| b == c[0]));
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn readers_see_the_old_or_the_new_content_whole() {
    let d = tmp();
    let p = Arc::new(d.path().join("f"));
    crate::write_bytes(&*p, &[b'0'; 8192]).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (p, stop) = (Arc::clone(&p), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // A reader may be refused for an instant on some systems
                // (the name is being swapped): never a partial file.
                if let Ok(c) = fs::read(&*p) {
                    assert_eq!(c.len(), 8192);
                    assert!(c.iter().all(|&b| b == c[0]));
                    reads += 1;
                }
            }
            reads
        })
    };
    let mut replaced = 0;
    for i in 0..20u8 {
        match crate::write_bytes(&*p, &[b'a' + i; 8192]) {
            Ok(()) => replaced += 1,
            // Without POSIX renames (Wine, older Windows) a reader that has
            // the target open blocks the rename, and one reading in a loop
            // may outlast the retries: a clean failure, never a partial file.
            Err(e) if cfg!(windows) && e.kind() == io::ErrorKind::PermissionDenied => {}
            Err(e) => panic!("{e}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert!(cfg!(windows) || replaced == 20);
    no_temp(d.path());
}
