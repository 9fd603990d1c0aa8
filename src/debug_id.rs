//! Which ID a user should report when something breaks (`tl.debugId()`): the ID the server
//! echoed on the most recent failed request, else the ID of the most recent failed action, else
//! the current action's ID, else none.

use alloc::string::String;

use crate::id::Id;
use crate::page_events::echoed_id;

/// What `debugId()` needs to remember.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DebugIds {
    /// The echo of the most recent failed request, if that request had a valid one.
    failed_request_echo: Option<String>,
    /// The most recent action that failed (a failed request, or ended with `error`).
    failed_action: Option<Id>,
}

impl DebugIds {
    /// A request failed; `echoed` is its response's correlation header, `action` the live
    /// action it belonged to.
    pub fn request_failed(&mut self, echoed: Option<&str>, action: Option<Id>) {
        self.failed_request_echo = echoed.and_then(echoed_id).map(String::from);
        if action.is_some() {
            self.failed_action = action;
        }
    }

    /// An action ended with `error`.
    pub fn action_failed(&mut self, id: Id) {
        self.failed_action = Some(id);
    }

    /// The ID to report, given the current action.
    pub fn answer(&self, current_action: Option<Id>) -> Option<String> {
        self.failed_request_echo
            .clone()
            .or_else(|| self.failed_action.or(current_action).map(Id::to_hex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16]).unwrap()
    }

    #[test]
    fn the_order_is_echo_then_failed_action_then_current() {
        let mut d = DebugIds::default();
        assert_eq!(d.answer(None), None);
        assert_eq!(d.answer(Some(id(1))), Some(id(1).to_hex()));
        d.action_failed(id(2));
        assert_eq!(d.answer(Some(id(1))), Some(id(2).to_hex()));
        d.request_failed(Some("server-chosen-id-0123"), Some(id(3)));
        assert_eq!(
            d.answer(Some(id(1))).as_deref(),
            Some("server-chosen-id-0123")
        );
        // A later failure without an echo: its action is the answer.
        d.request_failed(None, Some(id(4)));
        assert_eq!(d.answer(None), Some(id(4).to_hex()));
        // An invalid echo counts as none; a request outside actions keeps the last failed action.
        d.request_failed(Some("bad echo!"), None);
        assert_eq!(d.answer(None), Some(id(4).to_hex()));
    }
}
