//! Loading guest images into RAM.

pub mod elf;
