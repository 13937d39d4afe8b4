//! The one range type of analytics and the audit log: a time range `[from, to)` in UTC, read from
//! `?from=&to=` as times or dates (the dashboard, the export, the audit log) or as whole days (the
//! daily figures, the backfill, the rollup's command), with the same limits and errors for all.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

use crate::domain::timestamp;
use crate::error::ApiError;
use crate::repo::events::Span;
use crate::repo::stats::day_text;

/// The range read when `from` and `to` are both left out: the last 7 days.
pub const DEFAULT_RANGE: Duration = Duration::days(7);
/// Days of a range of whole days when `from` and `to` are left out: the last 7, today included.
pub const DEFAULT_DAYS: i64 = 7;
/// The longest range, in days.
pub const MAX_DAYS: i64 = 366;
/// The longest range.
pub const MAX_RANGE: Duration = Duration::days(MAX_DAYS);

/// A time range `[from, to)` in UTC, as `?from=&to=` give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Start, inclusive.
    pub from: OffsetDateTime,
    /// End, exclusive.
    pub to: OffsetDateTime,
}

/// Which end of a range a parameter gives: a date means the start of that day for `from` and
/// its end for `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    From,
    To,
}

impl Range {
    /// Reads `?from=` and `?to=`: RFC 3339 times or `yyyy-mm-dd` dates (UTC; a date `to` means the
    /// end of that day). `to` defaults to now and `from` to 7 days before `to`. 400
    /// `invalid_parameter` for an unreadable value, `invalid_range` unless `from < to` and both
    /// lie in the years 1970 to 9998 ([`timestamp::FIRST_YEAR`], [`timestamp::LAST_YEAR`]),
    /// `range_too_long` beyond 366 days.
    pub fn parse(from: Option<&str>, to: Option<&str>, now: OffsetDateTime) -> Result<Self, ApiError> {
        let to = match to {
            Some(text) => parse_end("to", text, End::To)?,
            None => now,
        };
        let from = match from {
            Some(text) => parse_end("from", text, End::From)?,
            None => to - DEFAULT_RANGE,
        };
        if from >= to {
            return Err(ApiError::bad_request("invalid_range", "from must be earlier than to"));
        }
        if to - from > MAX_RANGE {
            return Err(too_long());
        }
        Ok(Self { from, to })
    }

    /// Reads `from` and `to` as whole days (dates, both included); `to` defaults to today and
    /// `from` to 6 days before `to`. 400 `invalid_parameter` for a bad date, `invalid_range` if
    /// `from` is after `to`, `to` is after today (no figures exist yet) or a day lies outside the
    /// years 1970 to 9998, `range_too_long` beyond 366 days.
    pub fn parse_days(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Self, ApiError> {
        let to = to.map(|text| parse_day("to", text)).transpose()?.unwrap_or(today);
        let from = match from {
            Some(text) => parse_day("from", text)?,
            None => to - Duration::days(DEFAULT_DAYS - 1),
        };
        Self::whole_days(from, to, today)
    }

    /// The days from `first` to `last`, both included, checked as [`parse_days`](Self::parse_days)
    /// checks them.
    pub fn whole_days(first: Date, last: Date, today: Date) -> Result<Self, ApiError> {
        if first > last {
            return Err(ApiError::bad_request("invalid_range", "from must not be after to"));
        }
        if last > today {
            return Err(ApiError::bad_request(
                "invalid_range",
                format!(
                    "to: {} is after today ({}): its figures do not exist yet",
                    day_text(last),
                    day_text(today)
                ),
            ));
        }
        if (last - first).whole_days() + 1 > MAX_DAYS {
            return Err(too_long());
        }
        Ok(Self { from: day_bounds(first).0, to: day_bounds(last).1 })
    }

    /// The UTC days the range touches, oldest first.
    pub fn days(&self) -> Vec<Date> {
        days_between(self.first_day(), self.last_day())
    }

    /// The UTC day of its start.
    pub fn first_day(&self) -> Date {
        self.from.date()
    }

    /// The UTC day of its last instant.
    pub fn last_day(&self) -> Date {
        (self.to - Duration::nanoseconds(1)).date()
    }

    /// Whether it is whole UTC days (as asked with dates).
    pub fn is_whole_days(&self) -> bool {
        self.from.time() == Time::MIDNIGHT && self.to.time() == Time::MIDNIGHT
    }

    /// The range as the event log reads it.
    pub fn span(&self) -> Span {
        Span { from: self.from, to: self.to }
    }
}

/// `[start, end)` of a UTC day.
pub fn day_bounds(day: Date) -> (OffsetDateTime, OffsetDateTime) {
    let start = day.with_time(Time::MIDNIGHT).assume_utc();
    (start, start + Duration::DAY)
}

/// The days from `from` to `to`, both included (none if `to` is earlier).
pub fn days_between(from: Date, to: Date) -> Vec<Date> {
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        days.push(day);
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    days
}

fn too_long() -> ApiError {
    ApiError::bad_request("range_too_long", format!("a range spans at most {MAX_DAYS} days"))
}

fn parse_end(name: &'static str, text: &str, end: End) -> Result<OffsetDateTime, ApiError> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        // A time at the calendar's edge may have no UTC form (`9999-12-31T23:59:59-01:00`).
        return match at.checked_to_offset(UtcOffset::UTC) {
            Some(utc) if timestamp::is_accepted_day(utc.date()) => Ok(utc),
            _ => Err(outside_accepted_years(name)),
        };
    }
    let invalid = || {
        ApiError::bad_request(
            "invalid_parameter",
            format!("{name}: must be an RFC 3339 time (2026-11-25T10:00:00Z) or a date (2026-11-25)"),
        )
    };
    let day = Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| invalid())?;
    if !timestamp::is_accepted_day(day) {
        return Err(outside_accepted_years(name));
    }
    let day = match end {
        End::From => day,
        End::To => day.next_day().ok_or_else(invalid)?,
    };
    Ok(day.with_time(Time::MIDNIGHT).assume_utc())
}

/// A `yyyy-mm-dd` parameter; 400 `invalid_parameter` otherwise, `invalid_range` outside the
/// years a range may name (1970 to 9998).
pub(crate) fn parse_day(name: &str, text: &str) -> Result<Date, ApiError> {
    let day = Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
        ApiError::bad_request(
            "invalid_parameter",
            format!("{name}: must be a date (2026-11-25), got {text:?}"),
        )
    })?;
    if !timestamp::is_accepted_day(day) {
        return Err(outside_accepted_years(name));
    }
    Ok(day)
}

/// 400 `invalid_range` for a range end outside the years a range may name.
fn outside_accepted_years(name: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_range",
        format!("{name}: must lie in the years {} to {}", timestamp::FIRST_YEAR, timestamp::LAST_YEAR),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-25 10:30 UTC);

    fn code(result: Result<Range, ApiError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(error) => error.code(),
        }
    }

    #[test]
    fn without_bounds_the_range_is_the_last_seven_days() {
        let range = Range::parse(None, None, NOW).unwrap();
        assert_eq!((range.from, range.to), (datetime!(2026-11-18 10:30 UTC), NOW));
    }

    #[test]
    fn a_date_to_means_the_end_of_that_day() {
        let range = Range::parse(Some("2026-11-01"), Some("2026-11-03"), NOW).unwrap();
        assert_eq!((range.from, range.to), (datetime!(2026-11-01 0:00 UTC), datetime!(2026-11-04 0:00 UTC)));
        assert_eq!(range.days().len(), 3);
    }

    #[test]
    fn times_with_an_offset_are_read_in_utc() {
        let range = Range::parse(Some("2026-11-25T01:00:00+02:00"), Some("2026-11-25T10:00:00Z"), NOW);
        let range = range.unwrap();
        assert_eq!(range.from, datetime!(2026-11-24 23:00 UTC));
        assert_eq!(range.days().len(), 2);
    }

    #[test]
    fn bad_ranges_are_refused_with_their_reason() {
        assert_eq!(code(Range::parse(Some("yesterday"), None, NOW)), "invalid_parameter");
        assert_eq!(code(Range::parse(None, Some("2026-13-01"), NOW)), "invalid_parameter");
        assert_eq!(code(Range::parse(Some("2026-11-05"), Some("2026-11-04"), NOW)), "invalid_range");
        let same = "2026-11-05T00:00:00Z";
        assert_eq!(code(Range::parse(Some(same), Some(same), NOW)), "invalid_range");
        assert_eq!(code(Range::parse(Some("2024-01-01"), Some("2024-12-31"), NOW)), "ok");
        assert_eq!(code(Range::parse(Some("2024-01-01"), Some("2025-01-01"), NOW)), "range_too_long");
    }

    #[test]
    fn ends_outside_the_accepted_years_are_an_invalid_range_not_a_panic() {
        let edges = [
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:59:59Z",
            "-9999-01-01",
            "0000-01-01",
            "1969-12-31T23:59:59Z",
            "9999-01-01",
        ];
        for text in edges {
            assert_eq!(code(Range::parse(None, Some(text), NOW)), "invalid_range", "to={text}");
            assert_eq!(code(Range::parse(Some(text), None, NOW)), "invalid_range", "from={text}");
        }
        let last = Range::parse(Some("9998-12-30"), Some("9998-12-31"), NOW).unwrap();
        assert_eq!(last.to, datetime!(9999-01-01 0:00 UTC));
        let first = Range::parse(None, Some("1970-01-01T00:00:01Z"), NOW).unwrap();
        assert_eq!(first.days().len(), 8);
    }

    #[test]
    fn days_outside_the_accepted_years_are_an_invalid_range_not_a_panic() {
        let today = date!(2026 - 11 - 25);
        for text in ["-9999-01-01", "0000-01-01", "1969-12-31", "9999-12-31"] {
            let to = Range::parse_days(None, Some(text), today).map(|_| ()).unwrap_err();
            assert_eq!(to.code(), "invalid_range", "to={text}");
            let from = Range::parse_days(Some(text), Some("2026-11-01"), today).map(|_| ()).unwrap_err();
            assert_eq!(from.code(), "invalid_range", "from={text}");
        }
        let first = Range::parse_days(None, Some("1970-01-01"), today).unwrap();
        assert_eq!(first.days().len(), 7);
    }
}
