//! The versioned encoding of one component state: what a snapshot's state section
//! (and, later, a migration stream's) holds for a component.
//!
//! ```text
//! u8   kind length K (1..=32), K bytes: the state's kind, ASCII ("hart", "plic")
//! u32  version (>= 1)
//! u32  base length B, B bytes: the base, postcard
//! u16  part count P, then P parts, names unique:
//!        u8  name length N (1..=32), N bytes: the part's name, ASCII
//!        u32 length L, L bytes: the part (postcard, or a nested state in this encoding)
//! ```
//!
//! Integers are little-endian; nothing may follow the last part. postcard is not
//! self-describing, so a base can never grow: what a later version adds goes into a
//! new *part* (QEMU's subsections). A writer only writes a part when it is needed
//! (its value differs from the default); a reader takes a missing part as the
//! default. So a state written before a part existed decodes in every later build,
//! and an older build refuses a newer version by number, naming both.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Problem, StateError};

/// Longest kind or part name.
pub const MAX_NAME_LEN: usize = 32;

/// A state with a kind, a version, a base and optional parts.
///
/// `encode` writes the base (always) and each part whose `needed` test holds;
/// `decode` reads a state of any version from 1 to [`Versioned::VERSION`] (the
/// encoding checks the kind and refuses newer versions before calling it), taking
/// absent parts as their defaults. A part a decoder does not take is an error, so a
/// part must be read even when its value is not used.
pub trait Versioned: Sized {
    /// The kind of state, for messages and for checking that a state goes to the
    /// right kind of component: ASCII, 1 to 32 bytes.
    const KIND: &'static str;
    /// The newest version of this state, the one this build writes.
    const VERSION: u32;
    /// Whether the component has any state at all (false only for [`NoState`]).
    const HAS_STATE: bool = true;

    /// Writes the base and the needed parts.
    fn encode(&self, out: &mut Encoder);

    /// Reads a state written by version [`Decoder::version`].
    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError>;
}

/// The state of a component that has none (an empty virtio slot, a network
/// backend without a connection table). Saving it gives nothing to store; a board
/// that finds a saved state for such a component reports it as a saved state without
/// a counterpart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoState;

impl Versioned for NoState {
    const KIND: &'static str = "no";
    const VERSION: u32 = 1;
    const HAS_STATE: bool = false;

    fn encode(&self, out: &mut Encoder) {
        out.base(&());
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        input.base::<()>()?;
        Ok(NoState)
    }
}

/// Collects the base and parts of a state being encoded (see [`Versioned::encode`]).
#[derive(Debug, Default)]
pub struct Encoder {
    base: Option<Vec<u8>>,
    parts: Vec<(&'static str, Vec<u8>)>,
    error: Option<StateError>,
}

impl Encoder {
    fn fail(&mut self, e: StateError) {
        self.error.get_or_insert(e);
    }

    fn serialize<T: Serialize + ?Sized>(&mut self, what: &str, value: &T) -> Option<Vec<u8>> {
        match postcard::to_stdvec(value) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.fail(StateError::save(format!("cannot encode {what}: {e}")));
                None
            }
        }
    }

    /// Sets the base (exactly once).
    pub fn base<T: Serialize + ?Sized>(&mut self, value: &T) {
        if self.base.is_some() {
            self.fail(StateError::save("the base was written twice"));
            return;
        }
        self.base = self.serialize("the base", value);
    }

    /// Adds part `name` holding `value` if `needed` (a later reader takes an absent
    /// part as its default).
    pub fn part<T: Serialize + ?Sized>(&mut self, name: &'static str, needed: bool, value: &T) {
        if needed {
            if let Some(bytes) = self.serialize(name, value) {
                self.add(name, bytes);
            }
        }
    }

    /// Adds part `name` holding a nested state, in this encoding with its own kind and
    /// version, if it has any state.
    pub fn state_part<S: Versioned>(&mut self, name: &'static str, state: &S) {
        if !S::HAS_STATE {
            return;
        }
        match to_bytes(state) {
            Ok(bytes) => self.add(name, bytes),
            Err(e) => self.fail(e.within(name)),
        }
    }

    /// Adds part `name` holding an already encoded nested state ([`to_bytes`]), as
    /// components behind a trait object give it.
    pub fn encoded_part(&mut self, name: &'static str, bytes: Vec<u8>) {
        self.add(name, bytes);
    }

    fn add(&mut self, name: &'static str, bytes: Vec<u8>) {
        if !valid_name(name) || self.parts.iter().any(|(n, _)| *n == name) {
            self.fail(StateError::save(format!(
                "part name `{name}` is invalid or repeated"
            )));
        } else if bytes.len() > u32::MAX as usize {
            self.fail(StateError::save(format!("part `{name}` is too large")));
        } else {
            self.parts.push((name, bytes));
        }
    }
}

/// A state being decoded: its version, base and parts (see [`Versioned::decode`]).
#[derive(Debug)]
pub struct Decoder<'a> {
    version: u32,
    base: Option<&'a [u8]>,
    parts: Vec<(&'a str, Option<&'a [u8]>)>,
}

fn decode_value<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StateError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(StateError::malformed(format!(
            "{what}: {} bytes left over",
            rest.len()
        ))),
        Err(e) => Err(StateError::malformed(format!("{what}: {e}"))),
    }
}

impl<'a> Decoder<'a> {
    /// The version the state was written by (1 to the decoder's [`Versioned::VERSION`]).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Reads the base (exactly once).
    pub fn base<T: DeserializeOwned>(&mut self) -> Result<T, StateError> {
        let bytes = self
            .base
            .take()
            .ok_or_else(|| StateError::malformed("the base was read twice"))?;
        decode_value("base", bytes)
    }

    fn take(&mut self, name: &str) -> Option<&'a [u8]> {
        self.parts
            .iter_mut()
            .find(|(n, _)| *n == name)
            .and_then(|(_, b)| b.take())
    }

    /// Reads part `name`, if it was written.
    pub fn part<T: DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, StateError> {
        self.take(name)
            .map(|b| decode_value(&format!("part `{name}`"), b))
            .transpose()
    }

    /// Reads part `name`, or its default when it was not written (not needed, or
    /// written by a version before the part existed).
    pub fn part_or_default<T: DeserializeOwned + Default>(
        &mut self,
        name: &str,
    ) -> Result<T, StateError> {
        Ok(self.part(name)?.unwrap_or_default())
    }

    /// Reads part `name` holding a nested state, if it was written.
    pub fn state_part<S: Versioned>(&mut self, name: &str) -> Result<Option<S>, StateError> {
        self.take(name)
            .map(|b| from_bytes::<S>(b).map_err(|e| e.within(name.to_string())))
            .transpose()
    }

    /// The bytes of part `name` holding a nested state, if it was written, for a
    /// component behind a trait object to decode.
    pub fn encoded_part(&mut self, name: &str) -> Option<&'a [u8]> {
        self.take(name)
    }

    fn finish(self) -> Result<(), StateError> {
        if self.base.is_some() {
            return Err(StateError::malformed("the decoder did not read the base"));
        }
        match self.parts.iter().find(|(_, b)| b.is_some()) {
            Some((name, _)) => Err(StateError::malformed(format!(
                "part `{name}` is not part of version {} of this state",
                self.version
            ))),
            None => Ok(()),
        }
    }
}

/// Whether `name` is a valid kind or part name: 1 to 32 ASCII letters, digits, `.`,
/// `_` or `-`.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
}

/// Encodes `state` (kind, version, base, needed parts).
pub fn to_bytes<S: Versioned>(state: &S) -> Result<Vec<u8>, StateError> {
    debug_assert!(valid_name(S::KIND), "state kind `{}`", S::KIND);
    let mut enc = Encoder::default();
    state.encode(&mut enc);
    let kind = S::KIND;
    if let Some(e) = enc.error {
        return Err(e);
    }
    let base = enc
        .base
        .ok_or_else(|| StateError::save(format!("{kind}: no base was written")))?;
    let too_large = || StateError::save(format!("{kind}: more than 4 GiB"));
    let mut out = Vec::with_capacity(16 + base.len());
    put_name(&mut out, kind);
    out.extend_from_slice(&S::VERSION.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(base.len())
            .map_err(|_| too_large())?
            .to_le_bytes(),
    );
    out.extend_from_slice(&base);
    let count = u16::try_from(enc.parts.len()).map_err(|_| too_large())?;
    out.extend_from_slice(&count.to_le_bytes());
    for (name, bytes) in &enc.parts {
        put_name(&mut out, name);
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// Reads the fields of the encoding in order, refusing truncation.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], StateError> {
        if self.bytes.len() < n {
            return Err(StateError::malformed(format!("truncated in {what}")));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u32(&mut self, what: &str) -> Result<u32, StateError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&mut self, what: &str) -> Result<&'a str, StateError> {
        let len = self.bytes(1, what)?[0];
        let bytes = self.bytes(usize::from(len), what)?;
        std::str::from_utf8(bytes)
            .ok()
            .filter(|n| valid_name(n))
            .ok_or_else(|| StateError::malformed(format!("invalid {what}")))
    }
}

/// The kind and version at the start of an encoded state, without decoding the rest
/// (to say what a saved state is, or to pick a decoder).
pub fn peek(bytes: &[u8]) -> Result<(&str, u32), StateError> {
    let mut r = Reader { bytes };
    let kind = r.name("the state kind")?;
    let version = r.u32("the version")?;
    Ok((kind, version))
}

/// Decodes a state encoded by [`to_bytes`]: refuses another kind, a newer version,
/// malformed or trailing bytes, and parts the state's decoder does not know.
pub fn from_bytes<S: Versioned>(bytes: &[u8]) -> Result<S, StateError> {
    let mut r = Reader { bytes };
    let kind = r.name("the state kind")?;
    if kind != S::KIND {
        return Err(StateError::new(Problem::WrongKind {
            found: kind.into(),
            expected: S::KIND.into(),
        }));
    }
    let version = r.u32("the version")?;
    if version > S::VERSION {
        return Err(StateError::new(Problem::Newer {
            kind: kind.into(),
            found: version,
            supported: S::VERSION,
        }));
    }
    if version == 0 {
        return Err(StateError::malformed("version 0"));
    }
    let base_len = r.u32("the base length")? as usize;
    let base = r.bytes(base_len, "the base")?;
    let count_bytes = r.bytes(2, "the part count")?;
    let count = u16::from_le_bytes([count_bytes[0], count_bytes[1]]);
    // Each part takes at least 6 bytes: the count is bounded by the input.
    let mut parts = Vec::with_capacity(usize::from(count).min(r.bytes.len() / 6));
    for _ in 0..count {
        let name = r.name("a part name")?;
        let len = r.u32("a part length")? as usize;
        let body = r.bytes(len, "a part")?;
        if parts.iter().any(|(n, _)| *n == name) {
            return Err(StateError::malformed(format!(
                "part `{name}` appears twice"
            )));
        }
        parts.push((name, Some(body)));
    }
    if !r.bytes.is_empty() {
        return Err(StateError::malformed(format!(
            "{} bytes after the last part",
            r.bytes.len()
        )));
    }
    let mut dec = Decoder {
        version,
        base: Some(base),
        parts,
    };
    let state = S::decode(&mut dec)?;
    dec.finish()?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// Version 1 of a test state: a base only.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Counter1 {
        count: u64,
    }

    impl Versioned for Counter1 {
        const KIND: &'static str = "counter";
        const VERSION: u32 = 1;
        fn encode(&self, out: &mut Encoder) {
            out.base(self);
        }
        fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
            input.base()
        }
    }

    /// Version 2: the same base, and an optional part.
    #[derive(Debug, PartialEq)]
    struct Counter2 {
        count: u64,
        limit: Option<u64>,
    }

    impl Versioned for Counter2 {
        const KIND: &'static str = "counter";
        const VERSION: u32 = 2;
        fn encode(&self, out: &mut Encoder) {
            out.base(&Counter1 { count: self.count });
            out.part("limit", self.limit.is_some(), &self.limit);
        }
        fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
            let Counter1 { count } = input.base()?;
            let limit = input.part_or_default("limit")?;
            Ok(Counter2 { count, limit })
        }
    }

    #[test]
    fn old_states_decode_in_new_builds_and_new_ones_are_refused_by_old() {
        let old = to_bytes(&Counter1 { count: 5 }).unwrap();
        assert_eq!(
            from_bytes::<Counter2>(&old).unwrap(),
            Counter2 {
                count: 5,
                limit: None
            }
        );
        let new = Counter2 {
            count: 6,
            limit: Some(9),
        };
        let bytes = to_bytes(&new).unwrap();
        assert_eq!(from_bytes::<Counter2>(&bytes).unwrap(), new);
        let e = from_bytes::<Counter1>(&bytes).unwrap_err();
        assert_eq!(
            e.to_string(),
            "counter state version 2 is newer than this tern understands (1)"
        );
        assert_eq!(peek(&bytes).unwrap(), ("counter", 2));
        // An unneeded part is not written: the state is as short as version 1's.
        let plain = to_bytes(&Counter2 {
            count: 5,
            limit: None,
        })
        .unwrap();
        assert_eq!(plain.len(), old.len());
    }

    #[test]
    fn damage_is_refused_never_a_panic() {
        let bytes = to_bytes(&Counter2 {
            count: 300,
            limit: Some(1),
        })
        .unwrap();
        for cut in 0..bytes.len() {
            assert!(from_bytes::<Counter2>(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(from_bytes::<Counter2>(&longer)
            .unwrap_err()
            .to_string()
            .contains("after the last part"));
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                // Any outcome but a panic; most flips are errors.
                let _ = from_bytes::<Counter2>(&b);
            }
        }
        let e = from_bytes::<NoState>(&bytes).unwrap_err();
        assert_eq!(
            e.problem(),
            &Problem::WrongKind {
                found: "counter".into(),
                expected: "no".into()
            }
        );
    }

    #[test]
    fn unknown_parts_are_refused() {
        #[derive(Debug)]
        struct Extra;
        impl Versioned for Extra {
            const KIND: &'static str = "counter";
            const VERSION: u32 = 1;
            fn encode(&self, out: &mut Encoder) {
                out.base(&Counter1 { count: 1 });
                out.part("surprise", true, &7u8);
            }
            fn decode(_: &mut Decoder<'_>) -> Result<Self, StateError> {
                unreachable!()
            }
        }
        let bytes = to_bytes(&Extra).unwrap();
        let e = from_bytes::<Counter1>(&bytes).unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed: part `surprise` is not part of version 1 of this state"
        );
    }

    #[test]
    fn nested_states_carry_their_own_versions() {
        struct Outer(Counter2);
        impl Versioned for Outer {
            const KIND: &'static str = "outer";
            const VERSION: u32 = 1;
            fn encode(&self, out: &mut Encoder) {
                out.base(&());
                out.state_part("inner", &self.0);
            }
            fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
                input.base::<()>()?;
                let inner = input
                    .state_part("inner")?
                    .ok_or_else(|| StateError::malformed("no inner state"))?;
                Ok(Outer(inner))
            }
        }
        #[derive(Debug)]
        struct OldOuter;
        impl Versioned for OldOuter {
            const KIND: &'static str = "outer";
            const VERSION: u32 = 1;
            fn encode(&self, _: &mut Encoder) {
                unreachable!()
            }
            fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
                input.base::<()>()?;
                input.state_part::<Counter1>("inner")?;
                Ok(OldOuter)
            }
        }
        let bytes = to_bytes(&Outer(Counter2 {
            count: 1,
            limit: Some(2),
        }))
        .unwrap();
        let back = from_bytes::<Outer>(&bytes).unwrap();
        assert_eq!(back.0.limit, Some(2));
        let e = from_bytes::<OldOuter>(&bytes).unwrap_err();
        assert_eq!(
            e.to_string(),
            "inner: counter state version 2 is newer than this tern understands (1)"
        );
    }
}
