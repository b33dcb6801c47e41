//! Heap allocations per write, counted by this test binary's global
//! allocator on the thread that makes them (a `const` thread-local: the
//! count itself allocates nothing, and other tests' threads are not
//! counted). A count is deterministic where a time is not, as the syscall
//! counts of `syscalls.rs` are.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use crate::common::seccomp::{deny, kernel_has, Deny, SYS_LISTXATTRAT};
use crate::common::*;

/// [`System`], counting the calls that allocate (`alloc`, `alloc_zeroed`,
/// `realloc`) on the calling thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // During a thread's teardown the counter is gone: nothing to count.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is passed on to `System` unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Prints the allocations of one overwrite, on a
/// thread that wrote once before (its lazy setup, the temp names' random
/// seed, is not counted).
fn print_overwrite_allocations() {
    let d = scratch();
    // Absolute and clean, wherever ATOMIC_WRITE_TEST_DIR points.
    let t = std::path::absolute(d.path().join("target.conf")).unwrap();
    std::fs::write(&t, b"old\n").unwrap();
    atomic_write::write_bytes(&t, b"warm\n").unwrap();
    let n = allocations(|| atomic_write::write_bytes(&t, b"new\n").unwrap());
    assert_eq!(read(&t), b"new\n");
    println!("allocations: {n}");
}

/// The allocations of [`print_overwrite_allocations`] in a fresh process
/// under `rules`.
fn overwrite_allocations(rules: &[Deny]) -> u64 {
    let mut c = child_test("allocations::overwrite_child");
    deny(&mut c, rules);
    let out = run(&mut c);
    assert_child_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // After the harness's `test NAME ... ` on the same line.
    stdout
        .split_once("allocations: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stdout}"))
}

/// A one-shot overwrite of the writer's own file at a clean absolute path
/// allocates 3 times: the path shown in messages (the one given, as
/// `std::path::absolute` would give it, without its work), the target's
/// name in its directory, and the temp's name (C names are on the stack; one file's
/// commit groups nothing). Where the kernel has no `listxattrat` (before
/// 6.13, or a sandbox answering `ENOSYS`), the target's attributes are
/// listed through a descriptor, by the path `/proc/self/fd/N`: 6 (that path
/// as a C string, and the listing).
#[test]
fn one_shot_overwrite_allocations() {
    let plain = overwrite_allocations(&[]);
    let old_kernel = overwrite_allocations(&[Deny::call(SYS_LISTXATTRAT, libc::ENOSYS)]);
    eprintln!("allocations per overwrite: {plain}; without listxattrat: {old_kernel}");
    assert_eq!(plain, if kernel_has(SYS_LISTXATTRAT) { 3 } else { 6 });
    assert_eq!(old_kernel, 6);
}

#[test]
#[ignore = "child process of one_shot_overwrite_allocations"]
fn overwrite_child() {
    if !is_child() {
        return;
    }
    print_overwrite_allocations();
    println!("{CHILD_OK}");
}
