//! The row IDs of layouts already committed (see [`super::packed::Layout`]), remembered by each
//! store so that a row's layout is looked up in the database only the first time. A layout's
//! row ID never changes once committed; past a bound the memory is forgotten whole.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Layouts remembered at most.
const KEPT: usize = 10_000;

/// Layout key → row ID, shared by a store's clones.
#[derive(Clone, Default)]
pub struct KnownLayouts(Arc<Mutex<HashMap<Vec<u8>, i64>>>);

impl KnownLayouts {
    /// The row ID of the layout with `key`, if remembered.
    pub fn get(&self, key: &[u8]) -> Option<i64> {
        self.0.lock().ok()?.get(key).copied()
    }

    /// Remembers `committed`, layouts whose rows are committed.
    pub fn remember(&self, committed: &HashMap<Vec<u8>, i64>) {
        if let Ok(mut known) = self.0.lock() {
            if known.len() + committed.len() > KEPT {
                known.clear();
            }
            known.extend(committed.iter().map(|(k, v)| (k.clone(), *v)));
        }
    }
}
