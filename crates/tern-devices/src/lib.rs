//! tern-devices
