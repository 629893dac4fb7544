//! The overlap rules of a placement write (beyond the original, which only offered
//! `/placements/overlapping` as a question): on every day a placement runs,
//!
//! - **the trainee** is placed at most whole time: the whole time equivalents of their
//!   placements running that day sum to at most 1.0 (a placement without one counts as 1.0,
//!   whole time; two half-time placements fit, a whole-time and a half-time do not);
//! - **the post** holds at most its establishment of placements (one: a post is one training
//!   position, as the original's `overlapping` check by National Post Number assumed).
//!
//! Both ends of a placement are days it runs (a placement ending on the day another starts
//! overlaps it by that day); a placement without an end runs for ever. Loads are counted in
//! hundredths, as the original's `@Digits(fraction = 2)` kept them, so that sums are exact.
//! Only the days of the new placement matter: the stored ones already keep the rules, and
//! the busiest day within a span is a day on which one of the placements starts.

use time::Date;

/// A whole-time trainee's load, in hundredths of a whole time equivalent.
pub const WHOLE_TIME: u32 = 100;
/// How many placements a post holds at once.
pub const POST_ESTABLISHMENT: u32 = 1;

/// A placement as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub id: i64,
    pub from: Date,
    /// `None`: open-ended.
    pub to: Option<Date>,
    /// Hundredths of a whole time equivalent.
    pub load: u32,
}

impl Span {
    /// The last day it runs (`Date::MAX` when open-ended).
    pub fn end(&self) -> Date {
        self.to.unwrap_or(Date::MAX)
    }

    /// Whether it runs on `day`.
    pub fn covers(&self, day: Date) -> bool {
        self.from <= day && day <= self.end()
    }

    /// Whether it shares a day with `from..=to` (`to` `None`: open-ended).
    pub fn meets(&self, from: Date, to: Option<Date>) -> bool {
        self.from <= to.unwrap_or(Date::MAX) && from <= self.end()
    }
}

/// A whole time equivalent in hundredths (none: whole time).
pub fn hundredths(wte: Option<f64>) -> u32 {
    // In range by validation (0..=1, two decimals); clamped so that a stored oddity never panics.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    wte.map_or(WHOLE_TIME, |w| {
        (w * 100.0).round().clamp(0.0, 1000.0) as u32
    })
}

/// Which rule a placement breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The trainee would be placed over whole time.
    Trainee,
    /// The post would hold more placements than its establishment.
    Post,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Trainee => "trainee",
            Rule::Post => "post",
        }
    }
}

/// A broken rule: on `day` the load would be `load` (hundredths for the trainee, placements
/// for the post), with the stored placements `with` running that day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub rule: Rule,
    pub day: Date,
    pub load: u32,
    pub with: Vec<i64>,
}

/// The busiest day of `new`'s span among `others` (`weight` of each running placement
/// summed, `new`'s included): the day, its load and the others running that day.
fn busiest(new: &Span, others: &[Span], weight: impl Fn(&Span) -> u32) -> (Date, u32, Vec<i64>) {
    let mut days = vec![new.from];
    days.extend(
        others
            .iter()
            .filter(|o| o.id != new.id && o.from > new.from && o.from <= new.end())
            .map(|o| o.from),
    );
    let mut best = (new.from, 0, Vec::new());
    for day in days {
        let running: Vec<&Span> = others
            .iter()
            .filter(|o| o.id != new.id && o.covers(day))
            .collect();
        let load = weight(new) + running.iter().map(|o| weight(o)).sum::<u32>();
        if load > best.1 {
            best = (day, load, running.iter().map(|o| o.id).collect());
        }
    }
    best
}

/// The trainee rule for `new` among the trainee's other placements.
pub fn trainee_breach(new: &Span, others: &[Span]) -> Option<Breach> {
    let (day, load, with) = busiest(new, others, |s| s.load);
    (load > WHOLE_TIME && !with.is_empty()).then_some(Breach {
        rule: Rule::Trainee,
        day,
        load,
        with,
    })
}

/// The post rule for `new` among the post's other placements.
pub fn post_breach(new: &Span, others: &[Span], establishment: u32) -> Option<Breach> {
    let (day, load, with) = busiest(new, others, |_| 1);
    (load > establishment).then_some(Breach {
        rule: Rule::Post,
        day,
        load,
        with,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn span(id: i64, from: Date, to: Option<Date>, wte: Option<f64>) -> Span {
        Span {
            id,
            from,
            to,
            load: hundredths(wte),
        }
    }

    #[test]
    fn a_placement_ending_the_day_another_starts_overlaps_it_by_that_day() {
        let stored = [span(
            1,
            date!(2026 - 08 - 01),
            Some(date!(2027 - 01 - 31)),
            None,
        )];
        let same_day = span(0, date!(2027 - 01 - 31), Some(date!(2027 - 07 - 31)), None);
        let b = trainee_breach(&same_day, &stored).expect("a breach");
        assert_eq!(
            (b.day, b.load, b.with),
            (date!(2027 - 01 - 31), 200, vec![1])
        );
        let next_day = span(0, date!(2027 - 02 - 01), Some(date!(2027 - 07 - 31)), None);
        assert_eq!(trainee_breach(&next_day, &stored), None);
        assert_eq!(post_breach(&next_day, &stored, POST_ESTABLISHMENT), None);
        assert!(post_breach(&same_day, &stored, POST_ESTABLISHMENT).is_some());
    }

    #[test]
    fn an_open_ended_placement_overlaps_everything_after_its_start() {
        let stored = [span(1, date!(2020 - 08 - 01), None, None)];
        let later = span(0, date!(2090 - 01 - 01), Some(date!(2090 - 02 - 01)), None);
        assert!(trainee_breach(&later, &stored).is_some());
        let before = span(0, date!(2019 - 08 - 01), Some(date!(2020 - 07 - 31)), None);
        assert_eq!(trainee_breach(&before, &stored), None);
        // The new one open-ended: meets one starting long after.
        let stored = [span(
            1,
            date!(2090 - 01 - 01),
            Some(date!(2090 - 02 - 01)),
            None,
        )];
        let open = span(0, date!(2026 - 01 - 01), None, None);
        let b = trainee_breach(&open, &stored).expect("a breach");
        assert_eq!(b.day, date!(2090 - 01 - 01));
        assert!(open.meets(date!(2090 - 01 - 01), None));
    }

    #[test]
    fn part_time_placements_may_share_days_up_to_whole_time_and_no_further() {
        let half = |id, wte| span(id, date!(2026 - 08 - 01), Some(date!(2027 - 07 - 31)), wte);
        let stored = [half(1, Some(0.5))];
        assert_eq!(
            trainee_breach(&half(0, Some(0.5)), &stored),
            None,
            "0.5 + 0.5"
        );
        let b = trainee_breach(&half(0, Some(0.51)), &stored).expect("0.5 + 0.51");
        assert_eq!(b.load, 101);
        assert!(
            trainee_breach(&half(0, None), &stored).is_some(),
            "none is whole time"
        );
        // Three: 0.4 and 0.3 stored on different days; 0.3 new fits, 0.4 does not where both run.
        let stored = [
            span(
                1,
                date!(2026 - 08 - 01),
                Some(date!(2026 - 12 - 31)),
                Some(0.4),
            ),
            span(
                2,
                date!(2026 - 10 - 01),
                Some(date!(2027 - 03 - 31)),
                Some(0.3),
            ),
        ];
        let new = |wte| {
            span(
                0,
                date!(2026 - 09 - 01),
                Some(date!(2026 - 11 - 30)),
                Some(wte),
            )
        };
        assert_eq!(trainee_breach(&new(0.3), &stored), None);
        let b = trainee_breach(&new(0.31), &stored).expect("0.4 + 0.3 + 0.31");
        assert_eq!((b.day, b.load), (date!(2026 - 10 - 01), 101));
        assert_eq!(b.with, vec![1, 2]);
        // A zero load never breaks the trainee rule, but still takes the post.
        let zero = span(0, date!(2026 - 08 - 01), None, Some(0.0));
        assert_eq!(trainee_breach(&zero, &[half(1, None)]), None);
        assert!(post_breach(&zero, &[half(1, None)], POST_ESTABLISHMENT).is_some());
    }

    #[test]
    fn a_placement_is_not_measured_against_itself() {
        let stored = [span(
            7,
            date!(2026 - 08 - 01),
            Some(date!(2027 - 07 - 31)),
            None,
        )];
        let updated = span(7, date!(2026 - 09 - 01), Some(date!(2027 - 07 - 31)), None);
        assert_eq!(trainee_breach(&updated, &stored), None);
        assert_eq!(post_breach(&updated, &stored, POST_ESTABLISHMENT), None);
    }

    #[test]
    fn whole_time_equivalents_are_counted_in_exact_hundredths() {
        assert_eq!(hundredths(None), 100);
        assert_eq!(hundredths(Some(0.1 + 0.2)), 30);
        assert_eq!(hundredths(Some(1.0)), 100);
    }
}
