//! Values as people read them, in the NHS.UK style: dates as "7 December 2026" (not
//! `2026-12-07`), times as "7 December 2026 at 10:15am", and the NHS date input (day, month
//! and year boxes) read back into the API's `YYYY-MM-DD`.
//!
//! Every page shows API values through [`shown`]; forms keep the raw value ([`raw`]) so that
//! what is sent back is what the API gave.

use serde_json::Value;
use tis_service_kit::entity::validate::{parse_date, parse_timestamp};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2026-12-07` → "7 December 2026".
pub fn date(d: time::Date) -> String {
    format!(
        "{} {} {}",
        d.day(),
        MONTHS[usize::from(u8::from(d.month())) - 1],
        d.year()
    )
}

/// An instant (UTC) → "7 December 2026 at 10:15am".
pub fn instant(t: time::OffsetDateTime) -> String {
    let (h, m) = (t.hour(), t.minute());
    let (h12, half) = match h {
        0 => (12, "am"),
        1..=11 => (h, "am"),
        12 => (12, "pm"),
        _ => (h - 12, "pm"),
    };
    format!("{} at {h12}:{m:02}{half}", date(t.date()))
}

/// A text as shown: an ISO date or date-time becomes the words people read; anything else is
/// itself.
pub fn human(s: &str) -> String {
    let b = s.as_bytes();
    let iso_date = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[8..10].iter().all(u8::is_ascii_digit);
    if iso_date && b.len() == 10 {
        if let Some(d) = parse_date(s) {
            return date(d);
        }
    } else if iso_date && b[10] == b'T' {
        if let Some(t) = parse_timestamp(s) {
            return instant(t);
        }
        // A local date-time without an offset (`2026-12-07T10:15:00`): read as UTC.
        if let Some(t) = parse_timestamp(&format!("{s}Z")) {
            return instant(t);
        }
    }
    s.to_owned()
}

/// A sentence with every ISO date in it (`… on 2026-08-01`) in words (`… on 1 August 2026`).
pub fn human_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let candidate = rest.get(..10).unwrap_or("");
        let boundary = !rest[10.min(rest.len())..].starts_with(|c: char| c.is_ascii_digit());
        let before_ok = !out.ends_with(|c: char| c.is_ascii_digit());
        if before_ok && boundary && candidate.len() == 10 && human(candidate) != candidate {
            out.push_str(&human(candidate));
            rest = &rest[10..];
        } else {
            let len = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..len]);
            rest = &rest[len..];
        }
    }
    out.push_str(rest);
    out
}

/// The raw text of a JSON value ("" for null), for form fields.
pub fn raw(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON value as a page shows it ("" for null; dates in words; a boolean as "Yes" or "No",
/// not the API's `true`/`false`: every list, table and summary shows values through here).
pub fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => human(s),
        Value::Bool(b) => yes_no(*b).to_owned(),
        other => raw(other),
    }
}

/// A yes-or-no value in words, as the NHS.UK design system's radios and summaries say it.
pub fn yes_no(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

/// An NHS date input's three boxes, as shown (from the API's `YYYY-MM-DD`, or as typed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DateParts {
    pub day: String,
    pub month: String,
    pub year: String,
}

impl DateParts {
    /// The boxes for a stored `YYYY-MM-DD` (empty for anything else).
    pub fn of(iso: &str) -> DateParts {
        match parse_date(iso) {
            Some(d) if iso.len() == 10 && iso.as_bytes()[4] == b'-' => DateParts {
                day: d.day().to_string(),
                month: u8::from(d.month()).to_string(),
                year: d.year().to_string(),
            },
            _ => DateParts::default(),
        }
    }

    /// The boxes `<name>-day`, `<name>-month`, `<name>-year` of a submitted form.
    pub fn from_form(form: &std::collections::HashMap<String, String>, name: &str) -> DateParts {
        let get = |part: &str| {
            form.get(&format!("{name}-{part}"))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        DateParts {
            day: get("day"),
            month: get("month"),
            year: get("year"),
        }
    }

    /// `Ok(None)` when all three are empty; `Ok(Some("YYYY-MM-DD"))` for a real date; the
    /// message for the field otherwise (the NHS pattern's wording).
    pub fn to_iso(&self, label: &str) -> Result<Option<String>, String> {
        if self.day.is_empty() && self.month.is_empty() && self.year.is_empty() {
            return Ok(None);
        }
        let num = |s: &str| s.parse::<u32>().ok();
        let (Some(d), Some(m), Some(y)) = (num(&self.day), num(&self.month), num(&self.year))
        else {
            return Err(format!(
                "{label} must include a day, month and year, as numbers"
            ));
        };
        let month = u8::try_from(m)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok());
        let day = u8::try_from(d).ok();
        let year = i32::try_from(y).ok().filter(|y| (1900..=2200).contains(y));
        match (year, month, day) {
            (Some(y), Some(m), Some(d)) => time::Date::from_calendar_date(y, m, d)
                .map(|date| Some(date.to_string()))
                .map_err(|_| format!("{label} must be a real date")),
            _ => Err(format!("{label} must be a real date")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_read_yes_or_no_and_forms_keep_the_raw_value() {
        assert_eq!(shown(&Value::Bool(true)), "Yes");
        assert_eq!(shown(&Value::Bool(false)), "No");
        assert_eq!(
            raw(&Value::Bool(true)),
            "true",
            "a form sends back what the API gave"
        );
        assert_eq!(shown(&Value::from("true")), "true", "a text is itself");
    }

    #[test]
    fn dates_and_times_read_as_people_write_them() {
        assert_eq!(human("2026-12-07"), "7 December 2026");
        assert_eq!(human("1990-01-31"), "31 January 1990");
        assert_eq!(human("2026-12-07T10:15:00Z"), "7 December 2026 at 10:15am");
        assert_eq!(human("2026-12-07T00:05:00"), "7 December 2026 at 12:05am");
        assert_eq!(
            human("2019-03-04T13:11:12.000+0000"),
            "4 March 2019 at 1:11pm"
        );
        // Not dates: left alone.
        for s in [
            "7000001",
            "2026-13-45",
            "EMD-GP-01",
            "2026-12-07 and more",
            "",
        ] {
            assert_eq!(human(s), s);
        }
        assert_eq!(shown(&Value::from(0.8)), "0.8");
        assert_eq!(
            human_in(
                "the trainee would be placed 1.50 whole time on 2026-08-01; post 12026-08-011"
            ),
            "the trainee would be placed 1.50 whole time on 1 August 2026; post 12026-08-011"
        );
        assert_eq!(raw(&Value::from("2026-12-07")), "2026-12-07");
    }

    #[test]
    fn the_date_input_reads_back_a_real_date_or_says_what_is_wrong() {
        let p = DateParts::of("2026-08-01");
        assert_eq!(
            (p.day.as_str(), p.month.as_str(), p.year.as_str()),
            ("1", "8", "2026")
        );
        assert_eq!(p.to_iso("Start date"), Ok(Some("2026-08-01".into())));
        assert_eq!(DateParts::default().to_iso("End date"), Ok(None));
        let bad = |d: &str, m: &str, y: &str| DateParts {
            day: d.into(),
            month: m.into(),
            year: y.into(),
        };
        assert_eq!(
            bad("31", "2", "2026").to_iso("Start date"),
            Err("Start date must be a real date".into())
        );
        assert_eq!(
            bad("", "2", "2026").to_iso("Start date"),
            Err("Start date must include a day, month and year, as numbers".into())
        );
        assert_eq!(
            bad("1", "13", "2026").to_iso("Start date"),
            Err("Start date must be a real date".into())
        );
        assert_eq!(DateParts::of("not a date"), DateParts::default());
    }
}
