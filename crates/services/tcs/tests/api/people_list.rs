//! `GET /tcs/api/people`: the list, its search, filters, sort, basic paging, and scope.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

async fn people(app: &TestApp, who: &Caller, query: &str) -> (Vec<Value>, String) {
    let res = app
        .request(
            Method::GET,
            &format!("/tcs/api/people?{query}"),
            Some(&who.token()),
        )
        .send()
        .await
        .expect("GET");
    let status = res.status();
    let link = res
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("<none>")
        .to_owned();
    assert!(
        res.headers().get("x-total-count").is_none(),
        "basic paging counts nothing"
    );
    let body = res.text().await.expect("body");
    assert_eq!(status, 200, "{query}: {body}");
    (serde_json::from_str(&body).expect("json"), link)
}

#[tokio::test]
async fn people_are_searched_filtered_and_paged_within_the_callers_owners() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 300).await;
        let etl = Caller::etl();
        let (all, link) = people(&app, &etl, "size=50&sort=id,asc").await;
        assert_eq!(all.len(), 50, "{backend:?}");
        assert_eq!(all[0]["id"], 1);
        assert!(
            link.contains("page=1&size=50") && link.contains("rel=\"next\""),
            "{link}"
        );
        let (_, last) = people(&app, &etl, "size=50&page=5").await;
        assert_eq!(last, "", "{backend:?}: the last page links nothing");

        // A surname, case-insensitive, contains: every row found has it.
        let surname = all[3]["surname"].as_str().expect("surname").to_owned();
        let part = &surname[1..surname.len().min(4)];
        let (found, _) = people(
            &app,
            &etl,
            &format!("searchQuery={}&size=500", part.to_uppercase()),
        )
        .await;
        assert!(!found.is_empty(), "{backend:?}: {part}");
        assert!(found.iter().all(|p| {
            let hay = format!(
                "{} {} {} {} {}",
                p["surname"], p["forenames"], p["gmcNumber"], p["gdcNumber"], p["role"]
            )
            .to_lowercase();
            hay.contains(&part.to_lowercase())
        }));
        // A GMC number finds its person.
        let gmc = all
            .iter()
            .find_map(|p| p["gmcNumber"].as_str())
            .expect("a gmc number");
        let (found, _) = people(&app, &etl, &format!("searchQuery={gmc}")).await;
        assert_eq!(found.len(), 1, "{backend:?}");

        // Scope: an HEE admin of Wessex sees only Wessex's people.
        let wessex = Caller::hee(&["1-1RUZUSF"]);
        let (mine, _) = people(&app, &wessex, "size=500").await;
        assert!(!mine.is_empty(), "{backend:?}");
        assert!(
            mine.iter().all(|p| p["currentOwner"] == "Wessex"),
            "{backend:?}"
        );
        let (filtered, _) = people(
            &app,
            &etl,
            "size=500&columnFilters=%7B%22currentOwner%22%3A%5B%22Wessex%22%5D%7D",
        )
        .await;
        assert_eq!(
            filtered.len(),
            mine.len(),
            "{backend:?}: the filter and the scope agree"
        );

        // A programme observer sees the people of their programme (East Midlands' GP
        // programme, id 1); a trust admin, the people placed in their trust (none yet: there
        // are no placements before TCS part 2). Both get lists, never a 403.
        let (observed, _) = people(&app, &Caller::observer(1), "size=500").await;
        assert!(!observed.is_empty(), "{backend:?}");
        assert!(
            observed
                .iter()
                .all(|p| p["currentOwner"] == "East Midlands"),
            "{backend:?}"
        );
        let count: i64 = {
            let row = app
                .db
                .read()
                .fetch_one(tis_store::Sql::new(
                    "SELECT COUNT(DISTINCT person_id) AS n FROM programme_membership WHERE programme_id = 1",
                ))
                .await
                .expect("count");
            row["n"].as_i64().expect("n")
        };
        assert_eq!(observed.len() as i64, count, "{backend:?}");
        // A trust admin: the people placed in posts at their trust (the demo placements).
        let (trusts, _) = people(&app, &Caller::trust_admin(3), "size=500").await;
        let placed = app
            .db
            .read()
            .fetch_one(tis_store::Sql::new(
                "SELECT COUNT(DISTINCT pl.trainee_id) AS n FROM placement pl JOIN post_trust pt ON pt.post_id = pl.post_id WHERE pt.trust_id = 3",
            ))
            .await
            .expect("count")["n"]
            .as_i64()
            .expect("n");
        assert_eq!(trusts.len() as i64, placed, "{backend:?}");
        assert!(placed > 0, "{backend:?}: the demo places people at trust 3");

        // An unknown filter column is a 400 naming it.
        let res = app
            .request(
                Method::GET,
                "/tcs/api/people?columnFilters=%7B%22nope%22%3A%5B%22x%22%5D%7D",
                Some(&etl.token()),
            )
            .send()
            .await
            .expect("GET");
        let (status, _, body) = error_code(res).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("nope"), "{body}");
    }
}
