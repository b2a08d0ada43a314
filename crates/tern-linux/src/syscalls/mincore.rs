//! `mincore(addr, length, vec)` (mm/mincore.c) from the guest's page tables: a
//! page is resident when its page-table entry holds a frame (demand paging
//! installs frames on first touch, as the kernel's page cache and anonymous
//! memory do). Only reads the address space.

use crate::errno::{Errno, SysResult};
use crate::mm::pagetable;
use crate::task::Task;

const PAGE: u64 = 4096;
/// Pages looked at per step (the kernel's loop also copies out a page of bytes
/// at a time).
const STEP: u64 = 4096;

/// `mincore`.
pub fn mincore(t: &mut Task, a: [u64; 6]) -> SysResult {
    let start = a[0];
    if start & (PAGE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let len = a[1];
    let pages = len.div_ceil(PAGE);
    let end = pages
        .checked_mul(PAGE)
        .and_then(|bytes| start.checked_add(bytes))
        .filter(|&e| e <= pagetable::USER_TOP)
        .ok_or(Errno::ENOMEM)?;
    if pages == 0 {
        return Ok(0);
    }
    let mut va = start;
    let mut out = a[2];
    while va < end {
        let n = ((end - va) / PAGE).min(STEP);
        let bytes = {
            let mm = t.proc.mm();
            let mut v = Vec::with_capacity(n as usize);
            for i in 0..n {
                let p = va + i * PAGE;
                if mm.vmas.find(p).is_none() {
                    return Err(Errno::ENOMEM);
                }
                let held = pagetable::leaf_addr(mm.ram(), mm.root, p, None)
                    .map(|addr| pagetable::holds_frame(pagetable::read_pte(mm.ram(), addr)))
                    .unwrap_or(false);
                v.push(u8::from(held));
            }
            v
        };
        t.proc.write_mem(out, &bytes)?;
        va += n * PAGE;
        out = out.wrapping_add(n);
    }
    Ok(0)
}
