//! One page of a story: the log records and spans of one correlation, trace or session ID,
//! bounded in rows and bytes. Backend rows are taken first, browser rows fill what is left, so
//! forged browser volume can never push a genuine backend row out of view; each of the four
//! streams (backend spans, backend logs, browser spans, browser logs) pages on its own cursor.

use serde::Serialize;

use crate::rows::{LogRow, Provenance, SpanRow};
use crate::store::{After, RelatedError, Store, StoreError};

/// How much one page may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimits {
    /// Most rows (records and spans together).
    pub rows: usize,
    /// Most bytes of rows (a page always holds at least one row).
    pub bytes: usize,
}

impl Default for PageLimits {
    fn default() -> Self {
        PageLimits {
            rows: 2_000,
            bytes: 4 * 1024 * 1024,
        }
    }
}

/// Errors of the same session this far before and after a story are related (6 h).
const RELATED_WINDOW_NS: i64 = 6 * 3600 * 1_000_000_000;

/// The answer to `GET /api/search`.
#[derive(Debug, Serialize)]
pub struct Answer {
    /// The ID searched for.
    pub id: String,
    /// Log records, in time order.
    pub records: Vec<LogRow>,
    /// Spans, by start time.
    pub spans: Vec<SpanRow>,
    /// True duplicates folded into the rows of this page.
    pub folded: i64,
    /// True when the page stopped at a bound: more rows follow.
    pub cut: bool,
    /// The cursor of the next page (`&cursor=`), when `cut`.
    pub next: Option<String>,
    /// Other errors of the same session within ±6 h, each the start of its own story.
    pub related_errors: Vec<RelatedError>,
}

/// Where each stream stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    Start,
    After(i64, i64),
    Done,
}

/// The streams, in the order they claim a page.
const STREAMS: [(Provenance, bool); 4] = [
    (Provenance::Backend, true),
    (Provenance::Backend, false),
    (Provenance::Browser, true),
    (Provenance::Browser, false),
];

/// A cursor: one position per stream, `-` (start), `x` (done) or `time.row`.
fn parse_cursor(text: Option<&str>) -> Result<[Position; 4], String> {
    let mut positions = [Position::Start; 4];
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(positions);
    };
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() != positions.len() {
        return Err("cursor: expected the `next` of a previous answer".into());
    }
    for (slot, part) in positions.iter_mut().zip(parts) {
        *slot = match part {
            "-" => Position::Start,
            "x" => Position::Done,
            other => {
                let (time, row) = other
                    .split_once('.')
                    .and_then(|(t, r)| Some((t.parse().ok()?, r.parse().ok()?)))
                    .ok_or("cursor: expected the `next` of a previous answer")?;
                Position::After(time, row)
            }
        };
    }
    Ok(positions)
}

fn format_cursor(positions: &[Position; 4]) -> String {
    positions
        .iter()
        .map(|p| match p {
            Position::Start => "-".to_owned(),
            Position::Done => "x".to_owned(),
            Position::After(t, r) => format!("{t}.{r}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// What a page has taken so far.
struct Budget {
    rows: usize,
    bytes: usize,
    limits: PageLimits,
}

impl Budget {
    /// Takes a row of `size` bytes if it fits (the first row of a page always does).
    fn take(&mut self, size: usize) -> bool {
        let fits = self.rows == 0
            || (self.rows < self.limits.rows && self.bytes + size <= self.limits.bytes);
        if fits {
            self.rows += 1;
            self.bytes += size;
        }
        fits
    }

    fn left(&self) -> usize {
        self.limits.rows.saturating_sub(self.rows).max(1)
    }
}

/// Takes rows of one stream into `out` while they fit; returns where the stream stands.
fn fill<T: Serialize>(
    current: Position,
    rows: Vec<T>,
    asked: usize,
    budget: &mut Budget,
    out: &mut Vec<T>,
    position_of: impl Fn(&T) -> (i64, i64),
) -> Position {
    let fetched = rows.len();
    let mut last = None;
    for row in rows {
        let size = serde_json::to_vec(&row).map(|v| v.len()).unwrap_or(0);
        if !budget.take(size) {
            return last.map_or(current, |(t, r)| Position::After(t, r));
        }
        last = Some(position_of(&row));
        out.push(row);
    }
    match (fetched < asked, last) {
        (true, _) => Position::Done,
        (false, Some((t, r))) => Position::After(t, r),
        (false, None) => current,
    }
}

/// Rows each stream's first read asks for when all four are read at once: most stories fit,
/// and then a page costs the database one round of four concurrent reads instead of four in a
/// row.
const PROBE_ROWS: usize = 64;

/// Rows of one stream, as read.
enum Fetched {
    Logs(Vec<LogRow>),
    Spans(Vec<SpanRow>),
}

impl Fetched {
    fn len(&self) -> usize {
        match self {
            Fetched::Logs(rows) => rows.len(),
            Fetched::Spans(rows) => rows.len(),
        }
    }

    /// What a read of `limit` rows would have given, if these rows (read with a limit of
    /// `PROBE_ROWS + 1`) tell: when they are the whole stream or at least `limit` rows.
    fn answers(mut self, limit: usize) -> Option<Fetched> {
        if self.len() > PROBE_ROWS && limit > self.len() {
            return None;
        }
        match &mut self {
            Fetched::Logs(rows) => rows.truncate(limit),
            Fetched::Spans(rows) => rows.truncate(limit),
        }
        Some(self)
    }
}

/// Where a stream's next read starts; `None` when it is done.
fn start_of(slot: Position) -> Option<After> {
    match slot {
        Position::Done => None,
        Position::Start => Some(None),
        Position::After(t, r) => Some(Some((t, r))),
    }
}

/// Up to `limit` rows of one stream after `after`.
async fn read(
    store: &Store,
    id: &str,
    (provenance, is_spans): (Provenance, bool),
    after: After,
    limit: usize,
) -> Result<Fetched, StoreError> {
    Ok(if is_spans {
        Fetched::Spans(store.spans(id, provenance, after, limit).await?)
    } else {
        Fetched::Logs(store.logs(id, provenance, after, limit).await?)
    })
}

/// The first `PROBE_ROWS + 1` rows of every stream not done, read at once.
async fn probe(
    store: &Store,
    id: &str,
    positions: &[Position; 4],
) -> Result<Vec<Option<Fetched>>, StoreError> {
    let reads = positions
        .iter()
        .zip(STREAMS)
        .map(|(slot, stream)| async move {
            match start_of(*slot) {
                None => Ok(None),
                Some(after) => read(store, id, stream, after, PROBE_ROWS + 1)
                    .await
                    .map(Some),
            }
        });
    futures_util::future::try_join_all(reads).await
}

/// One page of the story of `id`, from `cursor` (absent for the first page).
pub async fn page(
    store: &Store,
    id: &str,
    cursor: Option<&str>,
    limits: PageLimits,
) -> Result<Result<Answer, String>, StoreError> {
    let mut positions = match parse_cursor(cursor) {
        Ok(p) => p,
        Err(message) => return Ok(Err(message)),
    };
    let mut budget = Budget {
        rows: 0,
        bytes: 0,
        limits,
    };
    let mut records = Vec::new();
    let mut spans = Vec::new();
    let mut probes = probe(store, id, &positions).await?;
    for ((slot, stream), probe) in positions.iter_mut().zip(STREAMS).zip(&mut probes) {
        let Some(after) = start_of(*slot) else {
            continue;
        };
        if budget.rows >= limits.rows {
            break;
        }
        let asked = budget.left();
        let fetched = match probe.take().and_then(|p| p.answers(asked + 1)) {
            Some(rows) => rows,
            None => read(store, id, stream, after, asked + 1).await?,
        };
        *slot = match fetched {
            Fetched::Spans(rows) => fill(*slot, rows, asked + 1, &mut budget, &mut spans, |s| {
                (s.start_ns, s.row_id)
            }),
            Fetched::Logs(rows) => fill(*slot, rows, asked + 1, &mut budget, &mut records, |r| {
                (r.time_ns, r.row_id)
            }),
        };
        if *slot != Position::Done {
            break;
        }
    }
    records.sort_by_key(|r| (r.time_ns, r.row_id));
    spans.sort_by_key(|s| (s.start_ns, s.row_id));
    let cut = positions.iter().any(|p| *p != Position::Done);
    let related_errors = related(store, id, &records).await?;
    Ok(Ok(Answer {
        id: id.to_owned(),
        folded: records.iter().map(|r| r.folded).sum::<i64>()
            + spans.iter().map(|s| s.folded).sum::<i64>(),
        records,
        spans,
        cut,
        next: cut.then(|| format_cursor(&positions)),
        related_errors,
    }))
}

/// For a correlation ID: the other errors of its session within ±6 h of it.
async fn related(
    store: &Store,
    id: &str,
    records: &[LogRow],
) -> Result<Vec<RelatedError>, StoreError> {
    let own = records
        .iter()
        .filter(|r| r.correlation_id.as_deref() == Some(id));
    let Some(session) = own.clone().find_map(|r| r.session_id.as_deref()) else {
        return Ok(Vec::new());
    };
    let times = own.map(|r| r.time_ns);
    let (first, last) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    store
        .related_errors(
            session,
            id,
            (
                first.saturating_sub(RELATED_WINDOW_NS),
                last.saturating_add(RELATED_WINDOW_NS),
            ),
            20,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let positions = [
            Position::Done,
            Position::After(-5, 7),
            Position::Start,
            Position::After(1, 2),
        ];
        assert_eq!(
            parse_cursor(Some(&format_cursor(&positions))),
            Ok(positions)
        );
        assert_eq!(parse_cursor(None), Ok([Position::Start; 4]));
        for junk in ["x", "a,b,c,d", "1.2,x,x", "1;2,x,x,x"] {
            assert!(parse_cursor(Some(junk)).is_err(), "{junk}");
        }
    }
}
