//! Host processes identified across daemon restarts: a pid alone may be reused by
//! another process after the first ends, so the node records the pid with the
//! process's start time (`/proc/PID/stat` field 22, clock ticks after boot), which no
//! later process with the same pid can share.

use std::fs;

/// What `/proc/PID/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// The state letter (R, S, D, Z, ...).
    pub state: char,
    /// Start time in clock ticks after boot.
    pub start_time: u64,
    /// CPU time in user and kernel mode together, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

/// Reads `/proc/PID/stat`; `None` if there is no such process.
pub fn stat(pid: u32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses a stat line. The command name (field 2) is in parentheses and may itself
/// hold spaces and parentheses, so fields are counted after its last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // Fields from 3 (the state) on; utime and stime are 14 and 15, the start time
    // 22 and the resident set size 24.
    let f: Vec<&str> = rest.split_whitespace().take(22).collect();
    let num = |field: usize| f.get(field - 3)?.parse::<u64>().ok();
    Some(Stat {
        state: f.first()?.chars().next()?,
        start_time: num(22)?,
        cpu_ticks: num(14)?.saturating_add(num(15)?),
        rss_pages: num(24)?,
    })
}

/// Whether process `pid` that started at `start_time` still runs (a zombie does not).
pub fn alive(pid: u32, start_time: u64) -> bool {
    stat(pid).is_some_and(|s| s.start_time == start_time && !matches!(s.state, 'Z' | 'X' | 'x'))
}

/// Sends SIGKILL to the process and to its process group (a VM's guest processes
/// are forks of it), if it is still the process that started at `start_time`.
pub fn kill(pid: u32, start_time: u64) {
    if !alive(pid, start_time) {
        return;
    }
    let Ok(p) = i32::try_from(pid) else {
        return;
    };
    // SAFETY: kill takes no pointers. The VM was started with setsid, so its process
    // group is its own and its id is the VM's pid.
    unsafe {
        libc::kill(-p, libc::SIGKILL);
        libc::kill(p, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "42 (a) b) (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                state: 'S',
                start_time: 98765,
                cpu_ticks: 3,
                rss_pages: 10,
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_with_its_own_start_time_only() {
        let me = std::process::id();
        let s = stat(me).unwrap();
        assert!(alive(me, s.start_time));
        assert!(!alive(me, s.start_time + 1));
    }
}
