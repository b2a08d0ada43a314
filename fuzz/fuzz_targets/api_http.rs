//! Fuzz target: the control API's HTTP request handling (hyper's parser with the
//! API's limits, the routes, the JSON bodies) on one connection, through
//! `tern_vmm::api::fuzzing::exchange` with a VM that does nothing. Whatever the bytes,
//! the server must answer HTTP or close, never panic, and never allocate more than
//! its limits justify (a counting allocator checks the peak of each exchange); a
//! well-formed request built from the input must get its route's success status.
//!
//! The first input byte picks a mode:
//! - even: the rest of the input is what the client sends;
//! - odd: a well-formed request for route `byte / 2 % routes` with header fields made
//!   from the rest of the input (printable bytes, split into name/value pairs).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use tern_vmm::api::fuzzing::exchange;
use tern_vmm::api::ROUTES;

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The most one exchange may add to the heap: a runtime, hyper's buffers (at most
/// `MAX_HEADER_BYTES` of header), a body up to `MAX_BODY_BYTES`, the in-memory pipe,
/// the answer (the OpenAPI document is the largest). Independent of the input's size.
const HEAP_BOUND: usize = 4 << 20;

fn status(answer: &[u8]) -> Option<u16> {
    std::str::from_utf8(answer.get(..12)?)
        .ok()?
        .strip_prefix("HTTP/1.1 ")?
        .parse()
        .ok()
}

fn well_formed(route: usize, rest: &[u8]) -> (Vec<u8>, u16) {
    let (method, path) = ROUTES[route % ROUTES.len()];
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: tern\r\n");
    let printable: String = rest
        .iter()
        .map(|&b| {
            if (0x21..0x7f).contains(&b) && b != b':' {
                b as char
            } else {
                'x'
            }
        })
        .take(600)
        .collect();
    for (i, chunk) in printable.as_bytes().chunks(40).take(20).enumerate() {
        let value = String::from_utf8_lossy(chunk);
        req.push_str(&format!("X-Fuzz-{i}: {value}\r\n"));
    }
    let (body, ok) = match path {
        "/snapshot" => (r#"{"path":"/fuzz/x.tern"}"#, 200),
        "/status" | "/openapi.json" => ("", 200),
        _ => ("", 204),
    };
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("Connection: close\r\n\r\n");
    req.push_str(body);
    (req.into_bytes(), ok)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    if mode % 2 == 0 {
        let answer = exchange(rest);
        assert!(
            answer.is_empty()
                || answer.starts_with(b"HTTP/1.1 ")
                || answer.starts_with(b"HTTP/1.0 "),
            "not an HTTP answer: {:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        );
    } else {
        let (req, ok) = well_formed(usize::from(mode / 2), rest);
        let answer = exchange(&req);
        assert_eq!(
            status(&answer),
            Some(ok),
            "{}\n-> {}",
            String::from_utf8_lossy(&req),
            String::from_utf8_lossy(&answer)
        );
    }
    let grew = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    assert!(
        grew <= HEAP_BOUND,
        "one exchange of {} input bytes grew the heap by {grew} bytes",
        rest.len()
    );
});
