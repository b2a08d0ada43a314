//! Shared by the integration tests: a deterministic random generator biased towards
//! the values where floating-point implementations go wrong, and a table that
//! evaluates every RISC-V F/D instruction through tern-fpu by name (the names of
//! `tests/oracle/fpu_oracle.c`).

#![allow(dead_code)]

pub mod gen;
pub mod ops;
