//! The requests the recorder follows from start to settlement, bounded by
//! [`MAX_IN_FLIGHT`](crate::recorder::limits::MAX_IN_FLIGHT).

use alloc::string::String;
use alloc::vec::Vec;

use crate::Millis;
use crate::bounded::take_unordered;
use crate::id::Id;
use crate::recorder::limits::MAX_IN_FLIGHT;

/// Names a request the shell follows; never 0.
pub type Token = u32;

/// A request that has not settled yet.
pub(crate) struct InFlight {
    pub token: Token,
    /// The ID Threadline gave it; `None` when the app set the correlation header itself.
    pub id: Option<Id>,
    /// `METHOD url` (see `retry::request_key`): also what the `http.request` event reports.
    pub key: String,
    pub started: Millis,
    pub attempt: u32,
    /// The trace ID of a `traceparent` another tracer put on the request, if it won over ours.
    pub trace: Option<Id>,
}

/// The requests in flight.
#[derive(Default)]
pub(crate) struct Requests {
    list: Vec<InFlight>,
    next_token: Token,
}

impl Requests {
    /// A fresh token (never 0).
    pub fn next_token(&mut self) -> Token {
        self.next_token = self.next_token.wrapping_add(1).max(1);
        self.next_token
    }

    /// Follows `request`; returns how many older ones were forgotten to make room.
    pub fn push(&mut self, request: InFlight) -> usize {
        let mut forgotten = 0;
        if self.list.len() >= MAX_IN_FLIGHT {
            let newer = self.list.split_off(self.list.len() / 2);
            forgotten = self.list.len();
            self.list = newer;
        }
        self.list.push(request);
        forgotten
    }

    /// The request `token`, if followed.
    pub fn get(&self, token: Token) -> Option<&InFlight> {
        self.list.iter().find(|r| r.token == token)
    }

    /// The latest request Threadline gave `id` that is still in flight.
    pub fn latest_with(&mut self, id: Id) -> Option<&mut InFlight> {
        self.list.iter_mut().rev().find(|r| r.id == Some(id))
    }

    /// Stops following `token`.
    pub fn take(&mut self, token: Token) -> Option<InFlight> {
        take_unordered(&mut self.list, |r| r.token == token)
    }

    /// How many are followed.
    pub fn len(&self) -> usize {
        self.list.len()
    }
}
