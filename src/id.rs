//! Makes and checks correlation IDs: 128 bits from the platform CSPRNG, written as 32 lowercase
//! hex characters (exactly a W3C trace-id). Never derives an ID from time, counters or user data.

use alloc::string::String;

use crate::text::push_ascii;

/// A 128-bit correlation ID: an action's, a request's or a session's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Id(u128);

/// A 64-bit span ID, the middle field of a `traceparent` header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SpanId(u64);

/// Number of hex characters in an [`Id`]'s wire form.
pub const ID_HEX_LEN: usize = 32;

impl Id {
    /// Builds an ID from raw bytes; `None` for the all-zero value, which W3C forbids.
    pub fn from_bytes(bytes: [u8; 16]) -> Option<Id> {
        let value = u128::from_be_bytes(bytes);
        (value != 0).then_some(Id(value))
    }

    /// Reads the wire form: exactly 32 lowercase hex characters, not all zero.
    pub fn parse(text: &str) -> Option<Id> {
        if text.len() != ID_HEX_LEN || !text.bytes().all(is_lower_hex) {
            return None;
        }
        let value = u128::from_str_radix(text, 16).ok()?;
        (value != 0).then_some(Id(value))
    }

    /// The low 32 bits, as a random number (for back-off jitter).
    pub fn low_bits(self) -> u32 {
        // Truncation is the point.
        #[allow(clippy::cast_possible_truncation)]
        let low = self.0 as u32;
        low
    }

    /// The wire form: 32 lowercase hex characters.
    pub fn to_hex(self) -> String {
        let mut out = String::with_capacity(ID_HEX_LEN);
        self.push_hex(&mut out);
        out
    }

    /// Appends the wire form to `out` (no allocation of its own).
    pub fn push_hex(self, out: &mut String) {
        push_hex(out, &self.0.to_be_bytes());
    }
}

impl SpanId {
    /// Builds a span ID from raw bytes; `None` for the all-zero value, which W3C forbids.
    pub fn from_bytes(bytes: [u8; 8]) -> Option<SpanId> {
        let value = u64::from_be_bytes(bytes);
        (value != 0).then_some(SpanId(value))
    }

    /// The wire form: 16 lowercase hex characters.
    pub fn to_hex(self) -> String {
        let mut out = String::with_capacity(16);
        push_hex(&mut out, &self.0.to_be_bytes());
        out
    }
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// Appends `bytes` (at most 16) as lowercase hex.
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digit = |n: u8| DIGITS.get(usize::from(n & 0x0f)).copied().unwrap_or(b'0');
    let mut text = [0u8; 2 * 16];
    for (pair, b) in text.chunks_exact_mut(2).zip(bytes) {
        if let [high, low] = pair {
            *high = digit(b >> 4);
            *low = digit(*b);
        }
    }
    push_ascii(out, text.get(..2 * bytes.len()).unwrap_or_default());
}

/// Where random bytes come from. A concrete choice, not a trait object: an indirect call would
/// keep every function reachable through the wasm table in the download.
#[derive(Clone, Copy, Debug)]
pub enum Entropy {
    /// The platform CSPRNG (`crypto.getRandomValues` in a browser).
    Csprng,
    /// A seeded generator (splitmix64), so a simulated page life replays exactly. Native only:
    /// IDs a page sends always come from the CSPRNG.
    #[cfg(not(target_arch = "wasm32"))]
    Seeded(u64),
}

impl Entropy {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), getrandom::Error> {
        match self {
            Entropy::Csprng => getrandom::fill(out),
            #[cfg(not(target_arch = "wasm32"))]
            Entropy::Seeded(state) => {
                for chunk in out.chunks_mut(8) {
                    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut z = *state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    z ^= z >> 31;
                    let bytes = z.to_le_bytes();
                    chunk.copy_from_slice(bytes.get(..chunk.len()).unwrap_or(&[]));
                }
                Ok(())
            }
        }
    }
}

/// Whether `text` is 16 to 64 letters, digits, `-` or `_`: the rule for every ID Threadline
/// accepts from the outside (an ID a server echoed, the middleware's incoming header), so a
/// backend may replace an ID it found invalid with its own and the page still reports it.
pub fn is_acceptable_id(text: &str) -> bool {
    (16..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Random bytes drawn from the entropy source a block at a time, so minting an ID costs no
/// WebCrypto call.
pub struct IdPool {
    block: [u8; POOL_BYTES],
    used: usize,
    source: Entropy,
}

const POOL_BYTES: usize = 512;

impl Default for IdPool {
    fn default() -> Self {
        IdPool::new(Entropy::Csprng)
    }
}

impl IdPool {
    /// A pool drawing from `source`.
    pub fn new(source: Entropy) -> Self {
        IdPool {
            block: [0; POOL_BYTES],
            used: POOL_BYTES,
            source,
        }
    }

    /// A fresh, never-before-seen [`Id`].
    pub fn next_id(&mut self) -> Result<Id, getrandom::Error> {
        loop {
            if let Some(id) = Id::from_bytes(self.take()?) {
                return Ok(id);
            }
        }
    }

    /// A fresh [`SpanId`].
    pub fn next_span(&mut self) -> Result<SpanId, getrandom::Error> {
        loop {
            if let Some(span) = SpanId::from_bytes(self.take()?) {
                return Ok(span);
            }
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], getrandom::Error> {
        if self.used + N > POOL_BYTES {
            self.source.fill(&mut self.block)?;
            self.used = 0;
        }
        let mut out = [0u8; N];
        if let Some(src) = self.block.get(self.used..self.used + N) {
            out.copy_from_slice(src);
            // Bytes handed out are wiped so they cannot be read from memory afterwards.
            self.block
                .get_mut(self.used..self.used + N)
                .into_iter()
                .for_each(|s| s.fill(0));
        }
        self.used += N;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn wire_form_is_32_lowercase_hex() {
        let mut pool = IdPool::default();
        for _ in 0..1000 {
            let id = pool.next_id().unwrap();
            let hex = id.to_hex();
            assert_eq!(hex, format!("{:032x}", id.0));
            assert!(hex.bytes().all(is_lower_hex), "{hex}");
            let span = pool.next_span().unwrap();
            assert_eq!(span.to_hex(), format!("{:016x}", span.0));
        }
    }

    #[test]
    fn ids_do_not_repeat() {
        let mut pool = IdPool::default();
        let ids: HashSet<Id> = (0..100_000).map(|_| pool.next_id().unwrap()).collect();
        assert_eq!(ids.len(), 100_000);
    }

    #[test]
    fn ids_use_all_128_bits() {
        // Every bit position takes both values across a few hundred IDs: nothing is fixed,
        // so nothing (a time, a counter) is encoded in any part of the ID.
        let mut pool = IdPool::default();
        let (mut ones, mut zeros) = (0u128, 0u128);
        for _ in 0..512 {
            let Id(v) = pool.next_id().unwrap();
            ones |= v;
            zeros |= !v;
        }
        assert_eq!(ones, u128::MAX);
        assert_eq!(zeros, u128::MAX);
    }

    #[test]
    fn parse_round_trips_and_rejects_other_forms() {
        let id = IdPool::default().next_id().unwrap();
        assert_eq!(Id::parse(&id.to_hex()), Some(id));
        assert_eq!(
            Id::parse("0af7651916cd43dd8448eb211c80319c")
                .map(Id::to_hex)
                .as_deref(),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
        for bad in [
            "",
            "0AF7651916CD43DD8448EB211C80319C",
            "0af7651916cd43dd8448eb211c80319",
            "0af7651916cd43dd8448eb211c80319c0",
            "0af7651916cd43dd8448eb211c80319g",
            "+af7651916cd43dd8448eb211c80319c",
            "00000000000000000000000000000000",
        ] {
            assert_eq!(Id::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn zero_values_are_refused() {
        assert_eq!(Id::from_bytes([0; 16]), None);
        assert_eq!(SpanId::from_bytes([0; 8]), None);
        assert_eq!(
            SpanId::from_bytes([0, 0, 0, 0, 0, 0, 0, 1])
                .unwrap()
                .to_hex(),
            "0000000000000001"
        );
    }

    #[test]
    fn pool_refills_across_block_boundaries() {
        let mut pool = IdPool::default();
        let spans: HashSet<String> = (0..1000)
            .map(|_| pool.next_span().unwrap().to_hex())
            .collect();
        assert_eq!(spans.len(), 1000);
        assert!(spans.iter().all(|s| s.len() == 16));
    }
}
