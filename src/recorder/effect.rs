//! What the recorder asks the shell to do: the only way its decisions leave it.

use alloc::string::String;

use crate::Millis;

coded! {
    /// The recorder's timers; each kind is set at most once at a time (a new one replaces it).
    /// Their codes cross with `tickAfter` in `js/protocol.js`.
    pub enum Timer {
        /// When the automatic action may end.
        AutoAction,
        /// When the batcher wants to be asked again (a batch due, a back-off over).
        Batch,
        /// The earliest `flush()` deadline.
        FlushDeadline,
    }
}

/// Where a stored value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The session shared by the origin's tabs (`SESSION_KEY`).
    Session,
    /// This tab's pending events (`Recorder::outbox_key`).
    #[cfg(feature = "events")]
    Outbox,
}

/// Names a `flush()` or `shutdown()` promise the shell holds.
pub type PromiseId = u32;

/// One thing for the shell to carry out, in order. Uploads, beacons and the outbox exist only
/// with the event pipeline (feature `events`), so the propagation-only build's shell has no code
/// for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Call back with [`Timer`] at this time (replacing one of the same kind).
    SetTimer(Timer, Millis),
    /// Clear that timer.
    CancelTimer(Timer),
    /// POST `body` (OTLP JSON) to the endpoint through the page's original `fetch`, abort it
    /// after `timeout` ms, and report with `Recorder::upload_answered(batch, …)`.
    #[cfg(feature = "events")]
    Upload {
        /// Names the upload in the answer.
        batch: u32,
        /// The request body.
        body: String,
        /// How long it may take.
        timeout: Millis,
    },
    /// `navigator.sendBeacon` of `body` to the endpoint; report with `Recorder::beacon_answered`.
    #[cfg(feature = "events")]
    Beacon(String),
    /// Write `value` to the slot (an empty value removes it).
    Store(Slot, String),
    /// Resolve that promise.
    Settle(PromiseId),
    /// A console warning (already worded).
    Warn(String),
}
