//! Serves the fake counter VM on a control socket, for trying the API by hand.
//!
//! ```sh
//! cargo run -p tern-vmm --example fake_vm -- /tmp/vm.sock [SNAPSHOT_DIR] [--keep-serving]
//! curl --unix-socket /tmp/vm.sock http://localhost/status
//! curl --unix-socket /tmp/vm.sock -X PUT http://localhost/pause
//! ```
//!
//! With SNAPSHOT_DIR, snapshots are only written inside that directory (use this
//! before pointing a fuzzer at the API). Exits once the VM is stopped (`PUT /stop`),
//! unless `--keep-serving` is given (a fuzzer goes on after stopping the VM).

use std::sync::Arc;
use std::time::Duration;

use tern_vmm::control::{VmControl, VmKind, VmState};
use tern_vmm::fake::CounterVm;

fn main() {
    let keep_serving = std::env::args_os().any(|a| a == "--keep-serving");
    let mut args = std::env::args_os()
        .skip(1)
        .filter(|a| a != "--keep-serving");
    let Some(sock) = args.next() else {
        eprintln!("usage: fake_vm SOCKET [SNAPSHOT_DIR] [--keep-serving]");
        std::process::exit(2);
    };
    let mut vm = CounterVm::new(VmKind::System);
    if let Some(dir) = args.next() {
        vm = vm.with_snapshot_dir(dir);
    }
    let vm = Arc::new(vm);
    let server = match tern_vmm::serve(&sock, vm.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake_vm: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("fake_vm: serving on {}", server.path().display());
    while keep_serving || vm.status().state != VmState::Stopped {
        std::thread::sleep(Duration::from_millis(50));
    }
    server.shutdown();
    eprintln!("fake_vm: stopped");
}
