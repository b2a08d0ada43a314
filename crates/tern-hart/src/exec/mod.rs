//! Instruction semantics that are more than a line, grouped by extension. The
//! interpreter's dispatch lives in [`crate::engine::interp`].

pub(crate) mod alu;
pub(crate) mod amo;
pub(crate) mod fp;
pub(crate) mod system;
pub(crate) mod trap;
