//! Threadline: a browser recorder that gives every user action an opaque random ID and puts it
//! on the requests the page sends to its own APIs, so one search finds the whole story.
//!
//! The crate is a pure core, tested natively, and a thin web shell (`web`, wasm32 only) that
//! carries the core's decisions out in the browser. Above the policy modules, one state machine,
//! [`recorder::Recorder`], holds all of the recorder's state: each happening in the page goes in
//! with the time, and what to do comes out as [`recorder::Effect`]s. From JavaScript:
//!
//! ```js
//! import { init } from "threadline";
//! const tl = await init({ propagateTo: ["https://api.shop.test:8443"] });
//! const pay = tl.startAction("checkout_submit");
//! await fetch("https://api.shop.test:8443/api/orders", { method: "POST" }); // X-Correlation-ID: pay.id
//! pay.end("ok");
//! ```
//!
//! The core in Rust:
//!
//! ```
//! use threadline::allowlist::{Allowlist, OriginPattern};
//! use threadline::origin::Origin;
//!
//! let allow = Allowlist {
//!     page: Origin::parse_url("https://shop.test/checkout"),
//!     patterns: vec![OriginPattern::parse("https://api.shop.test:8443").unwrap()],
//! };
//! let to = |url| Origin::parse_url(url).is_some_and(|o| allow.allows(&o));
//! assert!(to("https://api.shop.test:8443/api/orders"));
//! assert!(!to("https://api.shop.test.evil.test:8443/api/orders"));
//! ```

#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]

extern crate alloc;

/// An enum whose variants are the codes 0, 1, 2… in the order listed, with `from_code` for the
/// variant a code names: the codes that cross between JavaScript and wasm.
macro_rules! coded {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$doc:meta])* $variant:ident,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$doc])* $variant,)*
        }

        impl $name {
            /// The variant a code names.
            pub fn from_code(code: u8) -> Option<$name> {
                [$($name::$variant),*].get(usize::from(code)).copied()
            }
        }
    };
}

pub mod action_names;
pub mod actions;
pub mod allowlist;
pub mod attributes;
pub mod baggage;
pub mod batcher;
pub mod bounded;
pub mod correlator;
pub mod cors;
pub mod debug_id;
pub mod event;
pub mod id;
pub mod json;
pub mod options;
pub mod options_reader;
pub mod origin;
pub mod otlp;
pub mod outbox;
pub mod page_events;
pub mod propagation;
pub mod protocol;
pub mod recorder;
pub mod redact;
pub mod retry;
pub mod retry_after;
pub mod session;
pub mod text;
pub mod traceparent;

#[cfg(target_arch = "wasm32")]
pub mod web;

/// Milliseconds since the Unix epoch, the core's only notion of time.
pub type Millis = u64;

/// A small, constant-time allocator (TLSF): dlmalloc costs about 7 KB of the wasm file, and a
/// single free list slows every request down once the heap fragments.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: rlsf::SmallGlobalTlsf = rlsf::SmallGlobalTlsf::new();

/// The shipped build panics by trapping, without formatting a message: a recorder must not
/// carry `core::fmt` and std's panic machinery into every page. Test builds link std, which
/// brings its own handler, and turn this off (`--no-default-features`).
#[cfg(all(target_arch = "wasm32", feature = "panic-trap", not(test)))]
#[panic_handler]
fn trap_on_panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
