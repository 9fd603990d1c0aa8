//! The web shell: the only code that touches `window`, `fetch`, `XMLHttpRequest`, storage and
//! timers. It turns browser happenings into calls on the core and carries the core's decisions
//! out. It never panics on a path that runs inside the page and never breaks a request.

mod api;
mod auto_actions;
mod fetch;
mod glue;
mod hooks;
mod options;
mod plan;
mod session_store;
mod shared;
mod xhr;

pub use api::{Action, Recorder, create_recorder};
pub use hooks::Hooks;
