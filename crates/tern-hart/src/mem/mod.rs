//! Memory as the hart sees it: guest RAM (reached directly) and the bus (everything else).

mod access;
mod atomic;
mod bitmap;
pub mod bus;
mod guest_word;
pub mod lazy;
pub mod ram;
pub mod shared;

pub use guest_word::{GuestWord32, GuestWord64};
