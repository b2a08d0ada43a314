//! Memory sizes on the command line, written as QEMU users write them: `256M`, `1G`,
//! `512K`, and a bare number in MiB (`--memory 256`, as tern always accepted).

/// Bytes in one MiB.
const MIB: u64 = 1 << 20;

/// Parses a size: a whole number with an optional binary suffix `K`, `M`, `G` or `T`
/// (either case, optionally followed by `iB` or `B`), or `B` for bytes; no suffix means
/// MiB. Returns the size in bytes. A clap value parser, so its error is the message
/// clap prints after the option's name.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, suffix) = t.split_at(digits);
    if number.is_empty() {
        return Err(format!(
            "`{text}` is not a size: expected a whole number with an optional K, M, G or T \
             suffix (256M, 1G); a bare number is MiB"
        ));
    }
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" => 20,
        "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(format!(
                "`{text}`: unknown size suffix `{suffix}` (K, M, G or T, binary: 1K = 1024 bytes)"
            ))
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is too large"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Checks that `bytes` (from `--memory`) lies in `min_mib..=max_mib` MiB and is a
/// multiple of `unit` bytes; the error names the option and the accepted range.
pub fn check_memory(bytes: u64, min_mib: u64, max_mib: u64, unit: u64) -> anyhow::Result<()> {
    let shown = show(bytes);
    if bytes < min_mib * MIB || bytes > max_mib * MIB {
        anyhow::bail!(
            "--memory must be between {} and {}, not {shown}",
            show(min_mib * MIB),
            show(max_mib * MIB)
        );
    }
    if !bytes.is_multiple_of(unit) {
        anyhow::bail!("--memory must be a multiple of {}, not {shown}", show(unit));
    }
    Ok(())
}

/// `bytes` in the largest binary unit that divides it exactly (`1G`, `1536M`, `4K`).
pub fn show(bytes: u64) -> String {
    for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_binary_and_a_bare_number_is_mib() {
        assert_eq!(parse_size("256"), Ok(256 << 20));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("256m"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert_eq!(parse_size("4096B"), Ok(4096));
    }

    #[test]
    fn malformed_sizes_are_refused_naming_the_text() {
        for bad in [
            "",
            "M",
            "1.5G",
            "-1",
            "12Q",
            "1 G x",
            "99999999999999999999",
        ] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
        assert!(parse_size("17179869184T")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn ranges_and_units_are_checked_and_shown_in_units() {
        assert!(check_memory(256 << 20, 1, 65536, 4096).is_ok());
        let e = check_memory(512 << 10, 1, 65536, 4096).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--memory must be between 1M and 64G, not 512K"
        );
        let e = check_memory((1 << 20) + 512, 1, 65536, 4096).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--memory must be a multiple of 4K, not 1049088 bytes"
        );
        assert_eq!(show(1536 << 20), "1536M");
    }
}
