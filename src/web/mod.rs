//! The web shell: this module and the small JavaScript snippets in `js/` it binds to are the only
//! code that touches `window`, `fetch`, `XMLHttpRequest`, the DOM, storage and timers. The
//! snippets read browser objects and call back through [`Hooks`]; this module turns that into
//! calls on the core (`crate::recorder`) and carries its effects out (`driver`); the JS↔wasm
//! protocol is `crate::protocol`. Nothing here panics on a path that
//! runs inside the page, and nothing breaks a request.

mod api;
mod auto_actions;
mod driver;
mod fetch;
mod glue;
mod hooks;
mod options;
mod xhr;

pub use api::{Recorder, create_recorder};
pub use hooks::Hooks;
