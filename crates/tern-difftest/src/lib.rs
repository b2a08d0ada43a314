//! Differential testing of tern against QEMU (random programs).
