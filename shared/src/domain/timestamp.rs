//! Times as the API writes them: RFC 3339 in UTC with exactly three fractional digits
//! (`2026-11-25T10:00:00.120Z`), so clients with a fixed-width parser read every one. Reading
//! accepts any RFC 3339 time. Use with `#[serde(with = "crate::domain::timestamp")]` (or
//! `timestamp::option`).

use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// The first year a range of the API may name: ids (ULIDs), counters and the event log start at
/// the Unix epoch.
pub const FIRST_YEAR: i32 = 1970;
/// The last year a range of the API may name: one short of the last year `time` knows, so a
/// range's own arithmetic (the day after its end, 366 days before it) never leaves the calendar.
pub const LAST_YEAR: i32 = 9998;

/// Whether a day lies in the years a range may name, [`FIRST_YEAR`] to [`LAST_YEAR`].
pub fn is_accepted_day(day: Date) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&day.year())
}

const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The time as the API writes it.
pub fn format(at: OffsetDateTime) -> Result<String, time::error::Format> {
    at.to_offset(UtcOffset::UTC).format(FORMAT)
}

/// Serialises a time.
pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*at).map_err(serde::ser::Error::custom)?)
}

/// Deserialises any RFC 3339 time (from the text as the deserializer holds it: no copy).
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
    deserializer.deserialize_str(TimeVisitor)
}

/// Reads any RFC 3339 time; the API's own fixed-width form without the general parser (every
/// stored record has a few, and the rollup reads a million).
pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    fixed_width(text).map_or_else(|| OffsetDateTime::parse(text, &Rfc3339), Ok)
}

/// `yyyy-mm-ddThh:mm:ss.mmmZ`, as [`format`] writes it; `None` for anything else (a leap second
/// too), which the general parser then reads or refuses.
fn fixed_width(text: &str) -> Option<OffsetDateTime> {
    let bytes = text.as_bytes();
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')];
    if bytes.len() != 24 || separators.iter().any(|&(at, byte)| bytes[at] != byte) {
        return None;
    }
    let number = |from: usize, to: usize| {
        bytes[from..to].iter().try_fold(0u16, |value, &digit| {
            digit.is_ascii_digit().then(|| value * 10 + u16::from(digit - b'0'))
        })
    };
    let small = |from: usize, to: usize| number(from, to).and_then(|value| u8::try_from(value).ok());
    let month = time::Month::try_from(small(5, 7)?).ok()?;
    let date = time::Date::from_calendar_date(i32::from(number(0, 4)?), month, small(8, 10)?).ok()?;
    let time =
        time::Time::from_hms_milli(small(11, 13)?, small(14, 16)?, small(17, 19)?, number(20, 23)?).ok()?;
    Some(time::PrimitiveDateTime::new(date, time).assume_utc())
}

struct TimeVisitor;

impl serde::de::Visitor<'_> for TimeVisitor {
    type Value = OffsetDateTime;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an RFC 3339 time")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<OffsetDateTime, E> {
        parse(text).map_err(E::custom)
    }
}

/// The same for optional times (`null` when absent).
pub mod option {
    use super::*;

    /// Serialises an optional time.
    pub fn serialize<S: Serializer>(at: &Option<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Deserialises an optional RFC 3339 time.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)? {
            Some(text) => parse(&text).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn times_always_carry_three_fractional_digits_in_utc() {
        assert_eq!(super::format(datetime!(2026-11-25 10:00:00 UTC)).unwrap(), "2026-11-25T10:00:00.000Z");
        assert_eq!(super::format(datetime!(2026-11-25 10:00:00.12 UTC)).unwrap(), "2026-11-25T10:00:00.120Z");
        assert_eq!(
            super::format(datetime!(2026-11-25 11:00:00.5 +01:00)).unwrap(),
            "2026-11-25T10:00:00.500Z"
        );
    }

    #[test]
    fn the_fixed_width_form_reads_as_the_general_parser_reads_it() {
        use time::format_description::well_known::Rfc3339;
        use time::{Duration, OffsetDateTime};

        let mut at = datetime!(1999-12-31 23:59:59.999 UTC);
        for step in 0..2000_i64 {
            at += Duration::milliseconds(step * 7_919_333_001 % 86_400_000_000);
            let text = super::format(at).unwrap();
            assert_eq!(super::fixed_width(&text), Some(at), "{text}");
            assert_eq!(super::parse(&text).unwrap(), OffsetDateTime::parse(&text, &Rfc3339).unwrap());
        }
        let others = ["2026-11-25T10:00:00Z", "2026-11-25T11:00:00.5+01:00", "2016-12-31T23:59:60.000Z"];
        for text in others {
            assert_eq!(super::fixed_width(text), None, "{text}");
            assert_eq!(super::parse(text).unwrap(), OffsetDateTime::parse(text, &Rfc3339).unwrap(), "{text}");
        }
        for bad in ["2026-13-25T10:00:00.000Z", "2026-02-30T10:00:00.000Z", "2026-11-25T10:00:0x.000Z", ""] {
            assert!(super::parse(bad).is_err(), "{bad}");
        }
    }
}

/// `serde(with)` for a UTC day as `yyyy-mm-dd`.
pub mod day {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::macros::format_description;
    use time::Date;

    /// Serialises a day.
    pub fn serialize<S: Serializer>(day: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        let text =
            day.format(format_description!("[year]-[month]-[day]")).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    /// Deserialises a day.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text, format_description!("[year]-[month]-[day]")).map_err(serde::de::Error::custom)
    }
}
