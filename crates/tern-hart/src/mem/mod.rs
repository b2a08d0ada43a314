//! Memory as the hart sees it: guest RAM (reached directly) and the bus (everything else).

mod access;
mod atomic;
mod bitmap;
pub mod bus;
pub mod lazy;
pub mod ram;
pub mod shared;
