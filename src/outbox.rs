//! What outlives the page: the events not yet acknowledged when the page is hidden or left are
//! written to storage (bounded in bytes) and sent again by the next `init` on that origin. Also
//! picks what a page-exit beacon carries, within the browser's keepalive budget.
//!
//! Stored form: one line per record, `<event id>\t<record JSON>\n`. Encoded record JSON holds no
//! raw tab or line break (JSON escapes them), so the form needs no escaping.

use alloc::string::String;
use alloc::vec::Vec;

use crate::Millis;
use crate::batcher::Record;

/// Storage keys of persisted events start with this; each tab writes its own key.
pub const KEY_PREFIX: &str = "threadline.outbox.";

/// The most a page-exit beacon carries: Chromium refuses keepalive bodies past 64 KiB in flight,
/// and the body's wrapper needs a little room.
pub const BEACON_MAX_BYTES: usize = 60 * 1024;

/// The browser's budget for bodies of keepalive requests and beacons in flight at once.
pub const KEEPALIVE_MAX_BYTES: usize = 64 * 1024;
/// The most keepalive requests Chromium lets a page have in flight.
pub const KEEPALIVE_MAX_REQUESTS: usize = 9;
/// How long a beacon is counted against the budget after it was sent.
pub const KEEPALIVE_WINDOW: Millis = 10_000;

/// Tracks beacons against the browser's keepalive budget, so that the `pagehide` that follows
/// `visibilitychange` does not send the same events again into a budget the first beacon used.
#[derive(Clone, Debug, Default)]
pub struct KeepaliveBudget {
    sent: Vec<(Millis, usize)>,
}

impl KeepaliveBudget {
    /// Whether a body of `bytes` may go now; if so, it is counted.
    pub fn try_take(&mut self, bytes: usize, now: Millis) -> bool {
        self.sent
            .retain(|(at, _)| now.saturating_sub(*at) < KEEPALIVE_WINDOW);
        let used: usize = self.sent.iter().map(|(_, b)| b).sum();
        if self.sent.len() >= KEEPALIVE_MAX_REQUESTS || used + bytes > KEEPALIVE_MAX_BYTES {
            return false;
        }
        self.sent.push((now, bytes));
        true
    }
}

/// The stored size of one record.
fn stored_len(record: &Record) -> usize {
    record.event_id.len() + record.json.len() + 2
}

/// How many of the oldest records to leave out so that the rest fit in `budget` bytes: the
/// newest are kept, like the in-memory queue.
pub fn overflow(records: &[&Record], budget: usize) -> usize {
    let mut used = 0;
    let mut kept = 0;
    for record in records.iter().rev() {
        used += stored_len(record);
        if used > budget {
            break;
        }
        kept += 1;
    }
    records.len() - kept
}

/// The stored form of `records`.
pub fn encode(records: &[&Record]) -> String {
    let mut out = String::with_capacity(records.iter().map(|r| stored_len(r)).sum());
    for record in records {
        out.push_str(&record.event_id);
        out.push('\t');
        out.push_str(&record.json);
        out.push('\n');
    }
    out
}

/// Records from their stored form (several tabs' keys may be concatenated); lines that are not
/// a record are skipped.
pub fn decode(text: &str) -> Vec<Record> {
    lines(text)
        .filter_map(|line| {
            let tab = line.bytes().position(|b| b == b'\t')?;
            let (event_id, json) = (line.get(..tab)?, line.get(tab + 1..)?);
            let looks_like_record = json.starts_with('{') && json.ends_with('}');
            (!event_id.is_empty() && looks_like_record).then(|| Record {
                event_id: event_id.into(),
                json: json.into(),
            })
        })
        .collect()
}

/// The lines of `text` (byte search: `str::split` would bring formatting code into the wasm).
fn lines(mut text: &str) -> impl Iterator<Item = &str> {
    core::iter::from_fn(move || {
        if text.is_empty() {
            return None;
        }
        let end = text.bytes().position(|b| b == b'\n').unwrap_or(text.len());
        let line = text.get(..end)?;
        text = text.get(end + 1..).unwrap_or("");
        Some(line)
    })
}

/// Which events have left in a beacon during this page exit, so that each leaves in at most
/// one: the `pagehide` that follows `visibilitychange` sends only what the first beacon did not
/// carry. Cleared when the page is shown again.
#[derive(Clone, Debug, Default)]
pub struct BeaconLog {
    sent: Vec<String>,
}

impl BeaconLog {
    /// The oldest records not yet beaconed that fit in `max_bytes` of records.
    pub fn pick<'r>(&self, records: &[&'r Record], max_bytes: usize) -> Vec<&'r Record> {
        let mut used = 0;
        records
            .iter()
            .filter(|r| !self.sent.contains(&r.event_id))
            .take_while(|r| {
                used += r.json.len() + 1;
                used <= max_bytes
            })
            .copied()
            .collect()
    }

    /// `records` left in a beacon.
    pub fn mark(&mut self, records: &[&Record]) {
        self.sent.extend(records.iter().map(|r| r.event_id.clone()));
    }

    /// The page is shown again: a later exit may beacon everything again.
    pub fn clear(&mut self) {
        self.sent = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize, size: usize) -> Record {
        Record {
            event_id: format!("{n:032x}"),
            json: format!("{{\"n\":\"{}\"}}", "x".repeat(size)),
        }
    }

    #[test]
    fn records_survive_the_round_trip() {
        let records: Vec<Record> = (0..5).map(|n| record(n, n * 3)).collect();
        let refs: Vec<&Record> = records.iter().collect();
        assert_eq!(decode(&encode(&refs)), records);
        let two_tabs = encode(&refs[..2]) + &encode(&refs[2..]);
        assert_eq!(decode(&two_tabs), records);
    }

    #[test]
    fn damaged_lines_are_skipped() {
        let good = record(7, 4);
        let text = format!(
            "garbage\n\t{{}}\nabc\tnot json\n{}\t{}\n{}\t{{\"cut",
            good.event_id, good.json, good.event_id
        );
        assert_eq!(decode(&text), vec![good]);
        assert!(decode("").is_empty());
    }

    #[test]
    fn the_newest_records_that_fit_are_kept() {
        let records: Vec<Record> = (0..10).map(|n| record(n, 100)).collect();
        let refs: Vec<&Record> = records.iter().collect();
        let each = encode(&refs[..1]).len();
        assert_eq!(overflow(&refs, each * 10), 0);
        assert_eq!(overflow(&refs, each * 10 - 1), 1);
        assert_eq!(overflow(&refs, each * 3 + 5), 7);
        assert_eq!(overflow(&refs, 0), 10);
        let kept = encode(&refs[overflow(&refs, each * 3)..]);
        assert!(kept.len() <= each * 3);
        assert_eq!(decode(&kept)[0], records[7]);
    }

    #[test]
    fn a_beacon_takes_the_oldest_within_its_budget() {
        let records: Vec<Record> = (0..100).map(|n| record(n, 1_000)).collect();
        let refs: Vec<&Record> = records.iter().collect();
        let log = BeaconLog::default();
        let picked = log.pick(&refs, BEACON_MAX_BYTES);
        let n = picked.len();
        let bytes: usize = picked.iter().map(|r| r.json.len() + 1).sum();
        assert!(bytes <= BEACON_MAX_BYTES);
        assert!(bytes + refs[n].json.len() + 1 > BEACON_MAX_BYTES);
        assert_eq!(picked[0], &records[0]);
        assert!(log.pick(&refs, 10).is_empty());
    }

    #[test]
    fn each_event_leaves_in_at_most_one_beacon_per_exit() {
        let records: Vec<Record> = (0..10).map(|n| record(n, 100)).collect();
        let refs: Vec<&Record> = records.iter().collect();
        let mut log = BeaconLog::default();
        let first = log.pick(&refs[..6], BEACON_MAX_BYTES);
        assert_eq!(first.len(), 6);
        log.mark(&first);
        let second = log.pick(&refs, BEACON_MAX_BYTES);
        assert_eq!(
            second,
            refs[6..].to_vec(),
            "only what the first beacon did not carry"
        );
        log.mark(&second);
        assert!(log.pick(&refs, BEACON_MAX_BYTES).is_empty());
        log.clear();
        assert_eq!(log.pick(&refs, BEACON_MAX_BYTES).len(), 10);
    }

    #[test]
    fn beacons_stay_within_the_keepalive_budget() {
        let mut budget = KeepaliveBudget::default();
        assert!(budget.try_take(60 * 1024, 0));
        assert!(!budget.try_take(8 * 1024, 100), "the pagehide right after");
        assert!(budget.try_take(4 * 1024, 100));
        assert!(
            budget.try_take(60 * 1024, KEEPALIVE_WINDOW + 1),
            "later, the budget is back"
        );
        let mut many = KeepaliveBudget::default();
        for n in 0..KEEPALIVE_MAX_REQUESTS {
            assert!(many.try_take(10, n as Millis));
        }
        assert!(!many.try_take(10, 20));
    }
}
