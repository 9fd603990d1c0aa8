//! The web shell: this module and the small JavaScript snippets in `js/` it binds to are the only
//! code that touches `window`, `fetch`, `XMLHttpRequest`, the DOM, storage and timers. The
//! snippets read browser objects and call back through [`Hooks`]; this module turns that into
//! calls on the core and carries the core's decisions out. Nothing here panics on a path that
//! runs inside the page, and nothing breaks a request.

mod api;
mod auto_actions;
mod fetch;
mod glue;
mod hooks;
mod options;
#[cfg(feature = "events")]
mod pipeline;
#[cfg(not(feature = "events"))]
#[path = "no_pipeline.rs"]
mod pipeline;
mod plan;
mod session_store;
mod shared;
mod xhr;

pub use api::{Action, Recorder, create_recorder};
pub use hooks::Hooks;
