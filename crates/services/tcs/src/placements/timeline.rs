//! A trainee's timeline (beyond the original): `GET /people/{id}/timeline` merges their
//! programme memberships, curriculum memberships and placements into one list ordered by
//! start, and flags what an admin used to find by hand:
//!
//! - **gaps**: days within a programme membership on which the trainee has no placement;
//! - **overlaps**: days on which two or more placements run together, with their summed
//!   whole time equivalent (over 1.0 breaks the write rule of [`super::overlap`]; data
//!   loaded before the rule, or part-time placements, may show here).
//!
//! ```json
//! {"personId": 1,
//!  "items": [{"kind": "programmeMembership", "id": "6f1c…", "from": "2024-08-01", "to": "2028-07-31",
//!             "label": "General Practice", "programmeId": 3, "placementIds": []}, …],
//!  "gaps": [{"from": "2025-08-01", "to": "2025-08-31", "days": 31}],
//!  "overlaps": [{"from": "2026-02-01", "to": "2026-02-01", "days": 1, "placementIds": [4, 9],
//!                "wholeTimeEquivalent": 2.0}]}
//! ```

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::Date;
use tis_auth::Authenticated;
use tis_service_kit::ApiError;
use tis_service_kit::http::api::{Api, Body as Doc, Method, Op};
use tis_store::Sql;
use utoipa::ToSchema;

use super::overlap::hundredths;
use super::{date_of, person_visible};
use crate::people::record_routes::parse_id;
use crate::routes::{API, PERSON_VIEW_GUARD, Tcs};

/// What an item of the timeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    ProgrammeMembership,
    CurriculumMembership,
    Placement,
}

/// One dated item.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub kind: Kind,
    /// The membership's UUID, the curriculum membership's or the placement's id.
    pub id: String,
    #[serde(serialize_with = "iso")]
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// `None`: open-ended.
    #[serde(serialize_with = "iso_or_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<Date>,
    /// The programme's, curriculum's or post's name.
    pub label: Option<String>,
    pub programme_id: Option<i64>,
    /// Placements: the whole time equivalent (none: whole time).
    pub whole_time_equivalent: Option<f64>,
    /// Placements: DRAFT or APPROVED.
    pub lifecycle_state: Option<String>,
}

/// Consecutive days.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    #[serde(serialize_with = "iso")]
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// `None`: open-ended.
    #[serde(serialize_with = "iso_or_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<Date>,
    /// How many days (none when open-ended).
    pub days: Option<i64>,
    /// Overlaps: the placements running.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placement_ids: Vec<i64>,
    /// Overlaps: their summed whole time equivalent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whole_time_equivalent: Option<f64>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub person_id: i64,
    pub items: Vec<Item>,
    pub gaps: Vec<Period>,
    pub overlaps: Vec<Period>,
}

/// A date as `YYYY-MM-DD`.
fn iso<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

/// An optional date as `YYYY-MM-DD` or null.
fn iso_or_none<S: serde::Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.collect_str(d),
        None => s.serialize_none(),
    }
}

/// The day after `d` (`None` after the last day).
fn after(d: Date) -> Option<Date> {
    d.next_day()
}

/// A period's length in days.
fn days(from: Date, to: Option<Date>) -> Option<i64> {
    to.map(|t| (t - from).whole_days() + 1)
}

/// Orders the items and finds gaps and overlaps (see the module documentation).
pub fn build(person_id: i64, mut items: Vec<Item>) -> Timeline {
    items.sort_by(|a, b| (a.from, a.kind, &a.id).cmp(&(b.from, b.kind, &b.id)));
    let placements: Vec<&Item> = items.iter().filter(|i| i.kind == Kind::Placement).collect();
    let memberships: Vec<&Item> = items
        .iter()
        .filter(|i| i.kind == Kind::ProgrammeMembership)
        .collect();
    // Every day on which what runs may change: starts, and the days after ends.
    let mut bounds: Vec<Date> = items
        .iter()
        .filter(|i| i.kind != Kind::CurriculumMembership)
        .flat_map(|i| [Some(i.from), i.to.and_then(after)])
        .flatten()
        .collect();
    bounds.sort();
    bounds.dedup();
    let runs = |i: &Item, d: Date| i.from <= d && i.to.is_none_or(|t| d <= t);
    let mut gaps: Vec<Period> = Vec::new();
    let mut overlaps: Vec<Period> = Vec::new();
    for (k, &start) in bounds.iter().enumerate() {
        let end = bounds.get(k + 1).and_then(|n| n.previous_day());
        let placed: Vec<&&Item> = placements.iter().filter(|p| runs(p, start)).collect();
        let in_programme = memberships.iter().any(|m| runs(m, start));
        if in_programme && placed.is_empty() {
            push(&mut gaps, start, end, Vec::new(), None);
        }
        if placed.len() > 1 {
            let ids = placed.iter().filter_map(|p| p.id.parse().ok()).collect();
            let load: u32 = placed
                .iter()
                .map(|p| hundredths(p.whole_time_equivalent))
                .sum();
            push(
                &mut overlaps,
                start,
                end,
                ids,
                Some(f64::from(load) / 100.0),
            );
        }
    }
    Timeline {
        person_id,
        items,
        gaps,
        overlaps,
    }
}

/// Appends `from..=to`, joined to the last period when it continues it unchanged.
fn push(periods: &mut Vec<Period>, from: Date, to: Option<Date>, ids: Vec<i64>, wte: Option<f64>) {
    if let Some(last) = periods.last_mut()
        && last.to.and_then(after) == Some(from)
        && last.placement_ids == ids
        && last.whole_time_equivalent == wte
    {
        last.to = to;
        last.days = days(last.from, to);
        return;
    }
    periods.push(Period {
        from,
        to,
        days: days(from, to),
        placement_ids: ids,
        whole_time_equivalent: wte,
    });
}

/// The route.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    api.schema::<Timeline>().add(
        Method::Get,
        &format!("{API}/people/{{id}}/timeline"),
        timeline,
        Op::new(
            "Placement",
            "A trainee's programme memberships, curriculum memberships and placements in date order, with gaps and overlaps",
        )
        .path("id")
        .returns(200, Doc::One("Timeline".into()))
        .guard(PERSON_VIEW_GUARD),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    kind: String,
    id: String,
    from_date: String,
    to_date: Option<String>,
    label: Option<String>,
    programme_id: Option<i64>,
    wte: Option<f64>,
    state: Option<String>,
}

/// `GET /people/{id}/timeline`.
async fn timeline(
    State(tcs): State<Tcs>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let db = tcs.kit.repo.db();
    if !person_visible(&db.read(), &who, id).await? {
        return Err(ApiError::NotFound(format!("no person with id {id}")));
    }
    let mut q = Sql::new(
        r#"SELECT 'programmeMembership' AS "kind", CAST(pm.uuid AS TEXT) AS "id", CAST(pm.programme_start_date AS TEXT) AS "fromDate", CAST(pm.programme_end_date AS TEXT) AS "toDate", g.programme_name AS "label", pm.programme_id AS "programmeId", CAST(NULL AS DOUBLE PRECISION) AS "wte", CAST(NULL AS TEXT) AS "state" FROM programme_membership pm JOIN programme g ON g.id = pm.programme_id WHERE pm.person_id = "#,
    );
    q.bind(id);
    q.push(
        r#" UNION ALL SELECT 'curriculumMembership', CAST(cm.id AS TEXT), CAST(cm.curriculum_start_date AS TEXT), CAST(cm.curriculum_end_date AS TEXT), c.name, pm.programme_id, NULL, NULL FROM curriculum_membership cm JOIN programme_membership pm ON pm.uuid = cm.programme_membership_uuid JOIN curriculum c ON c.id = cm.curriculum_id WHERE pm.person_id = "#,
    );
    q.bind(id);
    q.push(
        r#" UNION ALL SELECT 'placement', CAST(pl.id AS TEXT), CAST(pl.date_from AS TEXT), CAST(pl.date_to AS TEXT), po.national_post_number, NULL, pl.whole_time_equivalent, pl.lifecycle_state FROM placement pl JOIN post po ON po.id = pl.post_id WHERE pl.trainee_id = "#,
    );
    q.bind(id);
    let rows: Vec<Row> = db.read().fetch_all_as(q).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let kind = match r.kind.as_str() {
            "programmeMembership" => Kind::ProgrammeMembership,
            "curriculumMembership" => Kind::CurriculumMembership,
            _ => Kind::Placement,
        };
        items.push(Item {
            kind,
            id: r.id,
            from: date_of(&r.from_date)?,
            to: r.to_date.as_deref().map(date_of).transpose()?,
            label: r.label,
            programme_id: r.programme_id,
            whole_time_equivalent: r.wte,
            lifecycle_state: r.state,
        });
    }
    Ok(axum::Json(build(id, items)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn item(kind: Kind, id: &str, from: Date, to: Option<Date>, wte: Option<f64>) -> Item {
        Item {
            kind,
            id: id.into(),
            from,
            to,
            label: None,
            programme_id: None,
            whole_time_equivalent: wte,
            lifecycle_state: None,
        }
    }

    #[test]
    fn the_timeline_orders_items_and_finds_unplaced_days_and_shared_days() {
        let pm = item(
            Kind::ProgrammeMembership,
            "u",
            date!(2024 - 08 - 01),
            Some(date!(2026 - 07 - 31)),
            None,
        );
        let a = item(
            Kind::Placement,
            "1",
            date!(2024 - 08 - 01),
            Some(date!(2025 - 02 - 01)),
            None,
        );
        // Starts on a's last day: one shared day; then a gap of 28 days after b.
        let b = item(
            Kind::Placement,
            "2",
            date!(2025 - 02 - 01),
            Some(date!(2025 - 07 - 31)),
            Some(0.5),
        );
        let c = item(Kind::Placement, "3", date!(2025 - 08 - 29), None, None);
        let t = build(9, vec![c.clone(), pm.clone(), b.clone(), a.clone()]);
        let ids: Vec<&str> = t.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["u", "1", "2", "3"], "by start, memberships first");
        assert_eq!(t.overlaps.len(), 1);
        let o = &t.overlaps[0];
        assert_eq!(
            (o.from, o.to, o.days),
            (date!(2025 - 02 - 01), Some(date!(2025 - 02 - 01)), Some(1))
        );
        assert_eq!(o.placement_ids, [1, 2]);
        assert_eq!(o.whole_time_equivalent, Some(1.5));
        assert_eq!(t.gaps.len(), 1, "{:?}", t.gaps);
        let g = &t.gaps[0];
        assert_eq!(
            (g.from, g.to, g.days),
            (date!(2025 - 08 - 01), Some(date!(2025 - 08 - 28)), Some(28))
        );
        // The open-ended placement covers the rest of the programme: no gap after it.
        let t = build(9, vec![pm, a]);
        assert_eq!(t.gaps.len(), 1);
        assert_eq!(
            (t.gaps[0].from, t.gaps[0].to),
            (date!(2025 - 02 - 02), Some(date!(2026 - 07 - 31)))
        );
        assert!(t.overlaps.is_empty());
    }
}
