//! A trainee's timeline (beyond the original): memberships and placements in one dated list,
//! with the days in a programme without a placement (gaps) and the days two placements share
//! (overlaps), scoped as the person.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::placements::{body, day, etl, setup};

#[tokio::test]
async fn the_timeline_merges_memberships_and_placements_and_flags_gaps_and_overlaps() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let etl = etl();
        // Person 3 gets a membership of their own dates, so that gaps are known exactly.
        let (_, _, memberships) = call(
            &app,
            Method::GET,
            "/tcs/api/trainee/3/programme-memberships",
            &etl,
            None,
        )
        .await;
        let first = &memberships[0];
        let (status, _, _) = call(
            &app,
            Method::POST,
            "/tcs/api/programme-memberships",
            &etl,
            Some(json!({
                "programmeMembershipType": "SUBSTANTIVE",
                "person": {"id": 3},
                "programmeId": first["programmeId"],
                "programmeStartDate": day(1000),
                "programmeEndDate": day(1099),
                "curriculumMemberships": [{
                    "curriculumId": first["curriculumMemberships"][0]["curriculumId"],
                    "curriculumStartDate": day(1000),
                    "curriculumEndDate": day(1099)
                }]
            })),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}");
        // Two half-time placements sharing day 1030..=1040, then nothing from 1061 to 1099.
        for (post, from, to) in [(1, 1000, 1040), (2, 1030, 1060)] {
            let mut b = body(3, post, &day(from), Some(&day(to)));
            b["wholeTimeEquivalent"] = json!(0.5);
            let (status, _, res) =
                call(&app, Method::POST, "/tcs/api/placements", &etl, Some(b)).await;
            assert_eq!(status, 201, "{res}");
        }
        let (status, _, t) =
            call(&app, Method::GET, "/tcs/api/people/3/timeline", &etl, None).await;
        assert_eq!(status, 200, "{t}");
        assert_eq!(t["personId"], 3);
        let items = t["items"].as_array().cloned().unwrap_or_default();
        let kinds: Vec<&str> = items.iter().filter_map(|i| i["kind"].as_str()).collect();
        assert!(
            kinds.contains(&"programmeMembership") && kinds.contains(&"curriculumMembership"),
            "{kinds:?}"
        );
        assert_eq!(kinds.iter().filter(|k| **k == "placement").count(), 2);
        let starts: Vec<&str> = items.iter().filter_map(|i| i["from"].as_str()).collect();
        let mut sorted = starts.clone();
        sorted.sort();
        assert_eq!(starts, sorted, "in date order");
        let placement = items
            .iter()
            .find(|i| i["kind"] == "placement")
            .expect("a placement");
        assert_eq!(placement["label"], "NPN/1");
        assert_eq!(placement["wholeTimeEquivalent"], 0.5);

        let overlaps = t["overlaps"].as_array().cloned().unwrap_or_default();
        assert_eq!(overlaps.len(), 1, "{t}");
        assert_eq!(overlaps[0]["from"], day(1030));
        assert_eq!(overlaps[0]["to"], day(1040));
        assert_eq!(overlaps[0]["days"], 11);
        assert_eq!(overlaps[0]["wholeTimeEquivalent"], 1.0);
        let gaps: Vec<&Value> = t["gaps"].as_array().into_iter().flatten().collect();
        let last = gaps
            .iter()
            .find(|g| g["from"] == day(1061))
            .expect("the unplaced end of the programme");
        // To the end of the new membership at least (the demo membership may run on).
        assert!(
            last["to"].as_str().unwrap_or_default() >= day(1099).as_str(),
            "{last}"
        );
        assert!(last["days"].as_i64().unwrap_or_default() >= 39, "{last}");

        // Scoped as the person: 404 for another office and for nobody.
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/tcs/api/people/999999/timeline",
            &etl,
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _, _) =
            call(&app, Method::GET, "/tcs/api/people/x/timeline", &etl, None).await;
        assert_eq!(status, 400);
    }
}
