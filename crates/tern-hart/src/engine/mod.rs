//! The execution engine: decoded-block cache, interpreter, run loop.

pub(crate) mod build;
pub(crate) mod cache;
pub mod debug;
pub(crate) mod interp;
pub mod jit;
pub(crate) mod ops;
pub mod run;
