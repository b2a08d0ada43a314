//! Loading guest images into RAM.

pub mod elf;
pub mod image;
