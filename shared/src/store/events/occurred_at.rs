//! An event's `occurredAt` as writers write it: epoch milliseconds (N), or an ISO-8601 /
//! RFC 3339 timestamp (S), what `new Date().toISOString()` gives a TypeScript writer. Epoch
//! *seconds* are refused rather than read 1,000× off: a number in the range where seconds of
//! 2001-2286 fall would be a time in early 1970 as milliseconds, which no order has.

use std::ops::Range;

/// Epoch seconds of 2001-09-09 up to 2286-11-20: as milliseconds, January to April 1970.
pub const SECONDS_RANGE: Range<i64> = 1_000_000_000..10_000_000_000;
/// The largest time a reader in any language holds exactly, in ms.
pub const MAX_MILLIS: i64 = crate::domain::MAX_SAFE_INTEGER;

/// Why an `occurredAt` cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OccurredAtError {
    #[error("occurredAt {0} looks like epoch seconds; it is milliseconds since the epoch (×1000)")]
    InSeconds(i64),
    #[error("occurredAt {0:?} is neither epoch milliseconds within ±(2^53 − 1) nor an RFC 3339 time")]
    Unreadable(String),
}

/// Epoch milliseconds from an N attribute's text.
pub fn from_number(text: &str) -> Result<i64, OccurredAtError> {
    let millis: i64 = text.parse().map_err(|_| OccurredAtError::Unreadable(text.to_owned()))?;
    if SECONDS_RANGE.contains(&millis) {
        return Err(OccurredAtError::InSeconds(millis));
    }
    if millis.abs() > MAX_MILLIS {
        return Err(OccurredAtError::Unreadable(text.to_owned()));
    }
    Ok(millis)
}

/// Epoch milliseconds from `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (fractions past the
/// millisecond are cut, not rounded).
pub fn from_text(text: &str) -> Result<i64, OccurredAtError> {
    parse_rfc3339(text).ok_or_else(|| OccurredAtError::Unreadable(text.to_owned()))
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let mut i = 19;
    let mut millis = 0;
    if at(i, b'.') {
        let count = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&count) {
            return None;
        }
        let kept = count.min(3);
        millis = digits(i + 1, kept)? * 10_i64.pow(3 - kept as u32);
        i += 1 + count;
    }
    let offset_minutes = match b.get(i..)? {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (digits(i + 1, 2)?, digits(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            if *sign == b'+' { h * 60 + m } else { -(h * 60 + m) }
        }
        _ => return None,
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    Some((seconds - offset_minutes * 60) * 1_000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_read_as_epoch_milliseconds() {
        assert_eq!(from_text("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(from_text("2026-12-08T02:03:19.123Z"), Ok(1_796_695_399_123));
        assert_eq!(from_text("2026-12-08T03:03:19.123+01:00"), Ok(1_796_695_399_123));
        assert_eq!(from_text("2026-12-07T21:03:19.1234567-05:00"), Ok(1_796_695_399_123), "cut past the ms");
        assert_eq!(from_text("2024-02-29T00:00:00.5Z"), Ok(1_709_164_800_500));
        assert_eq!(from_text("1969-12-31T23:59:59.999Z"), Ok(-1));
    }

    #[test]
    fn anything_else_is_refused_not_guessed() {
        for text in [
            "2026-12-08",
            "2026-12-08 02:03:19Z",
            "2026-12-08T02:03:19",
            "2026-12-08T02:03:19z",
            "2026-13-08T02:03:19Z",
            "2023-02-29T00:00:00Z",
            "2026-12-08T24:00:00Z",
            "2026-12-08T02:03:60Z",
            "2026-12-08T02:03:19.Z",
            "2026-12-08T02:03:19.1234567890Z",
            "2026-12-08T02:03:19+0100",
            "+2026-12-08T02:03:19Z",
            "yesterday",
        ] {
            assert!(from_text(text).is_err(), "{text}");
        }
    }

    #[test]
    fn epoch_seconds_are_refused_with_a_reason_that_says_so() {
        assert_eq!(from_number("1796695399"), Err(OccurredAtError::InSeconds(1_796_695_399)));
        assert!(from_number("1796695399").unwrap_err().to_string().contains("epoch seconds"));
        assert_eq!(from_number("1796695399123"), Ok(1_796_695_399_123));
        assert_eq!(from_number("5"), Ok(5), "early 1970 in ms is odd but not seconds");
        assert!(matches!(from_number("9007199254740992"), Err(OccurredAtError::Unreadable(_))));
        assert!(matches!(from_number("1.5e12"), Err(OccurredAtError::Unreadable(_))));
    }
}
