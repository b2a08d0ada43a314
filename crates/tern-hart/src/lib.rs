//! tern-hart
