//! Reads an HTTP `Retry-After` header: delay-seconds (`120`) or an HTTP-date
//! (`Wed, 21 Oct 2015 07:28:00 GMT`), as milliseconds to wait from now.

use crate::Millis;
use crate::text::parse_decimal;

/// The longest wait honoured, whatever the header asks: one hour.
pub const MAX_RETRY_AFTER: Millis = 3_600_000;

/// Milliseconds to wait from `now` (ms since the epoch); `None` if the header is malformed.
/// A date in the past means "now" (0); waits are capped at [`MAX_RETRY_AFTER`].
pub fn parse(header: &str, now: Millis) -> Option<Millis> {
    let header = header.trim_ascii();
    let wait = if header.bytes().all(|b| b.is_ascii_digit()) && !header.is_empty() {
        // All digits, so only a number too large for a u64 is refused: it waits the longest.
        parse_decimal(header).map_or(MAX_RETRY_AFTER, |s| s.saturating_mul(1_000))
    } else {
        parse_http_date(header)?.saturating_sub(now)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form servers send, as ms since the epoch.
fn parse_http_date(text: &str) -> Option<Millis> {
    let b = text.as_bytes();
    if b.len() != 29 || b.get(3) != Some(&b',') || text.get(25..) != Some(" GMT") {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<u64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u64, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
        })
    };
    let day = num(5, 2)?;
    let month = MONTHS.iter().position(|m| text.get(8..11) == Some(*m))? as u64 + 1;
    let year = num(12, 4)?;
    let (hour, minute, second) = (num(17, 2)?, num(20, 2)?, num(23, 2)?);
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1_000)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), for
/// years from 1970 on.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_become_milliseconds() {
        assert_eq!(parse("2", 0), Some(2_000));
        assert_eq!(parse(" 120 ", 0), Some(120_000));
        assert_eq!(parse("0", 0), Some(0));
        assert_eq!(
            parse("86400", 0),
            Some(MAX_RETRY_AFTER),
            "capped at an hour"
        );
        assert_eq!(parse("99999999999999999999999", 0), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn http_dates_are_read_relative_to_now() {
        // 2015-10-21T07:28:00Z is 1445412480 s after the epoch.
        let at = 1_445_412_480_000;
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"), Some(at));
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:28:00 GMT", at - 30_000),
            Some(30_000)
        );
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:28:00 GMT", at + 5_000),
            Some(0),
            "a past date means now"
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(1_835_481_599_000)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "soon",
            "-1",
            "1.5",
            "Wed, 21 Oct 2015 07:28:00 UTC",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "Wed, 21 Foo 2015 07:28:00 GMT",
            "Wed, 21 Oct 2015 25:28:00 GMT",
            "Wednesday, 21-Oct-15 07:28:00 GMT",
        ] {
            assert_eq!(parse(bad, 0), None, "{bad:?}");
        }
    }
}
