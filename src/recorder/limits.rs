//! Every bound the recorder keeps, in one place, so the shell and the core cannot disagree.

use crate::Millis;

/// Longest action name kept, explicit or automatic, in characters.
pub const MAX_ACTION_NAME_CHARS: usize = 64;

/// Longest automatic action name the page hands over, in UTF-16 units (two per character at
/// most), so an element's whole text never crosses; the core then keeps
/// [`MAX_ACTION_NAME_CHARS`].
pub const MAX_ACTION_NAME_UNITS: u32 = 2 * MAX_ACTION_NAME_CHARS as u32;

/// How long requests started before the recorder is ready wait for it, at most, in ms. The
/// shell's startup gate runs before the core exists, so `js/protocol.js` holds the same number,
/// and `tests/protocol.rs` holds the two together.
pub const STARTUP_DEADLINE_MS: u32 = 3_000;

/// Requests whose settlement is awaited, at most (about 150 bytes each); past this, the older
/// half is forgotten and their `http.request` events are counted as dropped. Every fetch and
/// XHR settles in the end, so only a page with this many requests pending at once reaches it.
pub const MAX_IN_FLIGHT: usize = 4096;

/// How deep the attribute walker follows nested objects; deeper values are described, not walked.
pub const MAX_ATTRIBUTE_DEPTH: u32 = 6;

/// How many attribute entries the walker visits at most; the ones it visits beyond
/// [`crate::attributes::MAX_ATTRIBUTES`] are counted in `threadline.attributes_dropped`.
pub const MAX_ATTRIBUTES_WALKED: u32 = 1_000;

/// Room kept in storage for the `threadline.dropped` event that reports a storage overflow.
pub const DROPPED_EVENT_RESERVE: usize = 1_024;

/// How much longer than one upload's timeout a `flush()` may take: every flush settles within
/// `uploadTimeoutMs` plus this.
pub const FLUSH_GRACE: Millis = 1_000;
