//! Serde helper: a `u64` as a `0x`-prefixed, 16-digit lowercase hex string.
//!
//! JSON numbers are doubles for most clients, which lose precision above 2^53;
//! guest addresses (Sv39 kernel addresses such as `0xffffffff80000000`) need all
//! 64 bits, so they travel as strings.

use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

/// Writes `v` as `0x%016x`.
pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:#018x}"))
}

/// Reads a `0x`-prefixed hex string of 1 to 16 digits.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| D::Error::custom(format!("address `{s}` must start with 0x")))?;
    if digits.is_empty() || digits.len() > 16 {
        return Err(D::Error::custom(format!(
            "address `{s}` must have 1 to 16 hex digits"
        )));
    }
    u64::from_str_radix(digits, 16)
        .map_err(|_| D::Error::custom(format!("address `{s}` is not hexadecimal")))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct A(#[serde(with = "super")] u64);

    #[test]
    fn round_trips_all_64_bits() {
        for v in [0, 0x8000_0000, 0xffff_ffff_8000_0000, u64::MAX] {
            let s = serde_json::to_string(&A(v)).unwrap();
            assert_eq!(s.len(), 2 + 18);
            assert_eq!(serde_json::from_str::<A>(&s).unwrap(), A(v));
        }
        assert_eq!(
            serde_json::to_string(&A(0x1000)).unwrap(),
            "\"0x0000000000001000\""
        );
        assert_eq!(serde_json::from_str::<A>("\"0x1f\"").unwrap(), A(0x1f));
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "\"1000\"",
            "\"0x\"",
            "\"0x1_0\"",
            "\"0x10000000000000000\"",
            "\"0xg\"",
            "16",
        ] {
            assert!(serde_json::from_str::<A>(bad).is_err(), "{bad}");
        }
    }
}
