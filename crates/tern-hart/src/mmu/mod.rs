//! Address translation: page-table walks and the software TLB.

pub mod tlb;
pub mod walk;
