//! Memory as the hart sees it: guest RAM (reached directly) and the bus (everything else).

mod access;
mod atomic;
pub mod bus;
pub mod ram;
