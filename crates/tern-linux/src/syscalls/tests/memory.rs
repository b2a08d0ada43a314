//! Memory: `mmap`, `munmap`, `mprotect`, `mremap`, `brk` (`syscalls/mm.rs`).

use super::{Guest, UNMAPPED};
use crate::errno::Errno;
use crate::syscalls::mm;

const RW: u64 = 3;
const PRIVATE_ANON: u64 = 0x22;
const NO_FD: u64 = u64::MAX;

#[test]
fn mmap_refuses_bad_lengths_offsets_protections_and_kinds() {
    let mut g = Guest::new();
    let t = &mut g.t;
    assert_eq!(
        mm::mmap(t, [0, 0, RW, PRIVATE_ANON, NO_FD, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mm::mmap(t, [0, 4096, RW, PRIVATE_ANON, NO_FD, 100]),
        Err(Errno::EINVAL),
        "offset not page-aligned"
    );
    assert_eq!(
        mm::mmap(t, [0, 4096, 0x10, PRIVATE_ANON, NO_FD, 0]),
        Err(Errno::EINVAL),
        "unknown protection bit"
    );
    assert_eq!(
        mm::mmap(t, [0, 4096, RW, 0x20, NO_FD, 0]),
        Err(Errno::EINVAL),
        "neither shared nor private"
    );
    assert_eq!(
        mm::mmap(t, [0x10_0001, 4096, RW, PRIVATE_ANON | 0x10, NO_FD, 0]),
        Err(Errno::EINVAL),
        "MAP_FIXED at an unaligned address"
    );
    assert_eq!(
        mm::mmap(t, [0, 4096, RW, 0x02, NO_FD, 0]),
        Err(Errno::EBADF),
        "a file mapping without a descriptor"
    );
    assert_eq!(
        mm::mmap(t, [0, u64::MAX - 4096, RW, PRIVATE_ANON, NO_FD, 0]),
        Err(Errno::ENOMEM)
    );
}

#[test]
fn mapped_memory_reads_zero_and_follows_its_protection() {
    let mut g = Guest::new();
    let a = mm::mmap(&mut g.t, [0, 8192, RW, PRIVATE_ANON, NO_FD, 0]).expect("mmap");
    assert_eq!(a % 4096, 0);
    assert_eq!(g.get(a, 8192), vec![0; 8192]);
    g.proc.write_mem(a, b"data").expect("writable");
    assert_eq!(mm::mprotect(&mut g.t, [a, 4096, 1, 0, 0, 0]), Ok(0));
    assert_eq!(g.proc.write_mem(a, b"x"), Err(Errno::EFAULT));
    assert_eq!(g.get(a, 4), b"data", "still readable");
    assert!(
        g.proc.write_mem(a + 4096, b"x").is_ok(),
        "the second page kept RW"
    );
    assert_eq!(
        mm::mprotect(&mut g.t, [a + 1, 4096, 1, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mm::mprotect(&mut g.t, [a, 4096, 0x10, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mm::mprotect(&mut g.t, [UNMAPPED, 4096, 1, 0, 0, 0]),
        Err(Errno::ENOMEM),
        "nothing mapped there"
    );
    assert_eq!(mm::munmap(&mut g.t, [a, 8192, 0, 0, 0, 0]), Ok(0));
    assert_eq!(g.proc.read_mem(a, 1), Err(Errno::EFAULT));
    assert_eq!(
        mm::munmap(&mut g.t, [a + 1, 4096, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(mm::munmap(&mut g.t, [a, 0, 0, 0, 0, 0]), Err(Errno::EINVAL));
    assert_eq!(
        mm::munmap(&mut g.t, [a, 4096, 0, 0, 0, 0]),
        Ok(0),
        "unmapping nothing succeeds"
    );
}

#[test]
fn map_fixed_noreplace_does_not_replace() {
    let mut g = Guest::new();
    let a = mm::mmap(&mut g.t, [0, 4096, RW, PRIVATE_ANON, NO_FD, 0]).expect("mmap");
    let noreplace = PRIVATE_ANON | 0x10_0000;
    assert_eq!(
        mm::mmap(&mut g.t, [a, 4096, RW, noreplace, NO_FD, 0]),
        Err(Errno::EEXIST)
    );
    g.proc.write_mem(a, b"kept").expect("write");
    let fixed = PRIVATE_ANON | 0x10;
    assert_eq!(mm::mmap(&mut g.t, [a, 4096, RW, fixed, NO_FD, 0]), Ok(a));
    assert_eq!(g.get(a, 4), [0; 4], "MAP_FIXED replaced it with zeros");
}

#[test]
fn mremap_checks_its_flags_before_the_old_mapping() {
    let mut g = Guest::new();
    // mm/mremap.c: flags, MREMAP_FIXED without MREMAP_MAYMOVE, MREMAP_DONTUNMAP
    // rules, alignment, then the mapping (EFAULT).
    assert_eq!(
        mm::mremap(&mut g.t, [UNMAPPED, 4096, 4096, 0x2, 0x20_0000, 0]),
        Err(Errno::EINVAL),
        "MREMAP_FIXED without MREMAP_MAYMOVE wins over no mapping"
    );
    assert_eq!(
        mm::mremap(&mut g.t, [UNMAPPED, 4096, 8192, 0x5, 0, 0]),
        Err(Errno::EINVAL),
        "MREMAP_DONTUNMAP with another size"
    );
    assert_eq!(
        mm::mremap(&mut g.t, [UNMAPPED, 4096, 4096, 0x8, 0, 0]),
        Err(Errno::EINVAL),
        "unknown flag"
    );
    assert_eq!(
        mm::mremap(&mut g.t, [UNMAPPED, 4096, 4096, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    let a = mm::mmap(&mut g.t, [0, 4096, RW, PRIVATE_ANON, NO_FD, 0]).expect("mmap");
    g.proc.write_mem(a, b"move").expect("write");
    let b = mm::mremap(&mut g.t, [a, 4096, 1 << 20, 1, 0, 0]).expect("grow, maybe moving");
    assert_eq!(g.get(b, 4), b"move");
    assert_eq!(g.get(b + (1 << 20) - 4, 4), [0; 4]);
}

#[test]
fn brk_grows_and_shrinks_the_heap_and_refuses_what_it_cannot_do() {
    let mut g = Guest::new();
    let start = 0x4000_0000;
    {
        let mut m = g.proc.mm();
        m.brk_start = start;
        m.brk = start;
    }
    assert_eq!(
        mm::brk(&mut g.t, [0, 0, 0, 0, 0, 0]),
        Ok(start),
        "brk(0) asks"
    );
    assert_eq!(
        mm::brk(&mut g.t, [start + 10000, 0, 0, 0, 0, 0]),
        Ok(start + 10000)
    );
    assert_eq!(
        g.get(start + 9000, 1000),
        vec![0; 1000],
        "new heap reads zero"
    );
    g.proc
        .write_mem(start + 9999, b"x")
        .expect("the heap is writable");
    assert_eq!(mm::brk(&mut g.t, [start + 1, 0, 0, 0, 0, 0]), Ok(start + 1));
    assert_eq!(
        g.proc.read_mem(start + 8192, 1),
        Err(Errno::EFAULT),
        "shrunk"
    );
    // A mapping in the way: the break stays.
    let fixed = PRIVATE_ANON | 0x10;
    let blocker = start + 0x10_0000;
    assert_eq!(
        mm::mmap(&mut g.t, [blocker, 4096, RW, fixed, NO_FD, 0]),
        Ok(blocker)
    );
    assert_eq!(
        mm::brk(&mut g.t, [blocker + 4096, 0, 0, 0, 0, 0]),
        Ok(start + 1)
    );
}
