//! `GET /people/basic`, `/people/{id}/basic`, `/people/in/{ids}/basic`: the original's basic
//! details (`PersonResourceIntTest.shouldGetBasicDetails`, `…shouldTextSearchBasicDetails`,
//! `…shouldGetMultiplePersons`), scoped like the list.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

async fn get(app: &TestApp, who: &Caller, path: &str) -> (u16, Value) {
    let res = app
        .request(Method::GET, path, Some(&who.token()))
        .send()
        .await
        .expect("GET");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn basic_details_are_found_by_id_by_ids_and_by_search_within_the_callers_scope() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 200).await;
        let etl = Caller::etl();

        let (status, one) = get(&app, &etl, "/tcs/api/people/1/basic").await;
        assert_eq!(status, 200, "{backend:?}: {one}");
        let keys: Vec<&str> = one
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "firstName",
                "gdcNumber",
                "gmcNumber",
                "id",
                "lastName",
                "publicHealthNumber"
            ]
        );
        assert_eq!(one["id"], 1);

        // The search matches names and numbers, at most 100, no paging headers.
        let surname = one["lastName"].as_str().unwrap().to_owned();
        let (status, found) = get(
            &app,
            &etl,
            &format!("/tcs/api/people/basic?searchQuery={surname}"),
        )
        .await;
        assert_eq!(status, 200);
        let found = found.as_array().unwrap();
        assert!(!found.is_empty() && found.len() <= 100);
        assert!(
            found
                .iter()
                .all(|p| p["lastName"].as_str() == Some(&surname)
                    || p["firstName"]
                        .as_str()
                        .is_some_and(|f| f.contains(&surname))),
            "{found:?}"
        );
        let (_, everyone) = get(&app, &etl, "/tcs/api/people/basic").await;
        assert_eq!(everyone.as_array().map(Vec::len), Some(100));

        // In: 302 with the list by id; unknown ids are left out; no ids is 400.
        let (status, many) = get(&app, &etl, "/tcs/api/people/in/3,1,999999/basic").await;
        assert_eq!(status, 302, "{many}");
        let ids: Vec<i64> = many
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [1, 3]);
        assert_eq!(get(&app, &etl, "/tcs/api/people/in/,/basic").await.0, 400);
        assert_eq!(get(&app, &etl, "/tcs/api/people/in/1,x/basic").await.0, 400);
        assert_eq!(get(&app, &etl, "/tcs/api/people/999999/basic").await.0, 404);
        assert_eq!(get(&app, &etl, "/tcs/api/people/x/basic").await.0, 400);

        // A programme observer sees the people of their programme only: the others are 404
        // by id and left out of lists.
        let (_, first) = get(&app, &etl, "/tcs/api/people?size=1&sort=id,asc").await;
        let programme = first[0]["programmeId"]
            .as_i64()
            .expect("person 1 has a programme");
        let observer = Caller::observer(programme);
        let (_, mine) = get(&app, &observer, "/tcs/api/people/basic").await;
        let mine: Vec<i64> = mine
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        assert!(
            !mine.is_empty(),
            "{backend:?}: person 1 is in programme {programme}"
        );
        let outsider = (1..=200)
            .find(|id| !mine.contains(id))
            .expect("someone outside");
        assert_eq!(
            get(
                &app,
                &observer,
                &format!("/tcs/api/people/{}/basic", mine[0])
            )
            .await
            .0,
            200
        );
        assert_eq!(
            get(
                &app,
                &observer,
                &format!("/tcs/api/people/{outsider}/basic")
            )
            .await
            .0,
            404
        );
        let (_, both) = get(
            &app,
            &observer,
            &format!("/tcs/api/people/in/{},{outsider}/basic", mine[0]),
        )
        .await;
        assert_eq!(both.as_array().map(Vec::len), Some(1), "{both}");

        // Without the person View permission: 403.
        let nobody = Caller {
            profile: tis_auth::UserProfile::named("nobody"),
        };
        assert_eq!(get(&app, &nobody, "/tcs/api/people/1/basic").await.0, 403);
    }
}
