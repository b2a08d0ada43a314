//! tern-machine
