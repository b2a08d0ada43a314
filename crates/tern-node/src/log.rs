//! The node manager's event log: what it did to slices and VMs (created, started,
//! re-adopted, exited, expired, reclaimed). tern installs no `tracing` subscriber,
//! and the daemon's standard error is its log, so events are written there with a
//! UTC timestamp, and also given to `tracing` for embedders that have a subscriber.

use std::time::{SystemTime, UNIX_EPOCH};

/// Writes one event line: `2026-12-07T17:30:44Z tern node: MESSAGE`.
pub fn event(message: std::fmt::Arguments<'_>) {
    tracing::info!("{message}");
    eprintln!("{} tern node: {message}", utc_now());
}

/// Logs a node event (`format!` arguments).
#[macro_export]
macro_rules! node_event {
    ($($arg:tt)*) => {
        $crate::log::event(format_args!($($arg)*))
    };
}

/// The time now as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// days-to-civil algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_796), (2026, 12, 9));
    }
}
