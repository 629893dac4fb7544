//! The turn of the day (`tis_tcs::day`): memberships and placements that started or ended
//! since the last turn, without a write, have their people's owners, statuses and list rows
//! and their posts' current trainees re-derived; once per day, by one instance.

use time::OffsetDateTime;
use tis_store::Sql;
use tis_tcs::day::turn;

use crate::helpers::*;
use crate::placements::{POSTS, setup};

async fn exec(app: &TestApp, q: Sql) {
    app.db.write().execute(q).await.expect("statement");
}

async fn text(app: &TestApp, sql: &str) -> Option<String> {
    db_value(app, sql).await.as_str().map(str::to_owned)
}

#[tokio::test]
async fn what_started_or_ended_since_the_last_turn_is_rederived_once() {
    for backend in BACKENDS {
        let (app, _reference) = setup(backend).await;
        let today = OffsetDateTime::now_utc().date();
        let yesterday = today.previous_day().expect("a day");
        // The state a day's turn finds, written behind the service's back as the calendar
        // does: person 1's placement in post 1 starts today; person 2's memberships all
        // ended yesterday, while their record still says what was true then.
        let mut q = Sql::new(
            "INSERT INTO placement (trainee_id, post_id, site_id, site_code, grade_id, grade_abbreviation, date_from, date_to, placement_type, whole_time_equivalent, lifecycle_state) VALUES (1, ",
        );
        q.bind(POSTS + 1)
            .push(", 11, 'SITE11', 12, 'GR12', ")
            .bind(today)
            .push(", ")
            .bind(today + time::Duration::days(100))
            .push(", 'IN_POST', 1.0, 'APPROVED')");
        exec(&app, q).await;
        let mut q = Sql::new("UPDATE programme_membership SET programme_start_date = ");
        q.bind(today - time::Duration::days(400))
            .push(", programme_end_date = ")
            .bind(yesterday)
            .push(" WHERE person_id = 2");
        exec(&app, q).await;
        exec(
            &app,
            Sql::new(
                "UPDATE person SET status = 'CURRENT', current_owner_rule = 'P1' WHERE id = 2",
            ),
        )
        .await;
        let mut q = Sql::new("UPDATE day_turn SET last_day = ");
        q.bind(yesterday);
        exec(&app, q).await;
        assert_ne!(
            text(&app, "SELECT site_code AS n FROM person_view WHERE id = 1")
                .await
                .as_deref(),
            Some("SITE11"),
            "{backend:?}: stale before the turn"
        );

        let turned = turn(&app.db, today).await.expect("turn").expect("turned");
        assert_eq!(turned.from, yesterday, "{backend:?}");
        assert!(turned.people >= 2 && turned.posts >= 1, "{turned:?}");

        assert_eq!(
            text(&app, "SELECT site_code AS n FROM person_view WHERE id = 1")
                .await
                .as_deref(),
            Some("SITE11"),
            "{backend:?}"
        );
        assert_eq!(
            text(
                &app,
                "SELECT grade_abbreviation AS n FROM person_view WHERE id = 1"
            )
            .await
            .as_deref(),
            Some("GR12")
        );
        let current = db_value(
            &app,
            &format!(
                "SELECT current_trainee_id AS n FROM post_view WHERE id = {}",
                POSTS + 1
            ),
        )
        .await;
        assert_eq!(current, serde_json::json!(1), "{backend:?}");
        assert_eq!(
            text(&app, "SELECT status AS n FROM person WHERE id = 2")
                .await
                .as_deref(),
            Some("INACTIVE"),
            "{backend:?}"
        );
        assert_eq!(
            text(
                &app,
                "SELECT current_owner_rule AS n FROM person WHERE id = 2"
            )
            .await
            .as_deref(),
            Some("P7"),
            "{backend:?}: the last past membership's programme owns them"
        );

        // Once a day: the next try finds it turned.
        assert_eq!(turn(&app.db, today).await.expect("turn"), None);

        // Another instance holding the claim (its lease not run out): not this one…
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut q = Sql::new("UPDATE day_turn SET last_day = ");
        q.bind(yesterday).push(", running_until = ").bind(now + 300);
        exec(&app, q).await;
        assert_eq!(
            turn(&app.db, today).await.expect("turn"),
            None,
            "{backend:?}"
        );
        // …until its lease has run out (it died): then this one takes the day over.
        let mut q = Sql::new("UPDATE day_turn SET running_until = ");
        q.bind(now - 1);
        exec(&app, q).await;
        let again = turn(&app.db, today)
            .await
            .expect("turn")
            .expect("taken over");
        assert_eq!(again.from, yesterday);
        assert_eq!(
            db_value(&app, "SELECT running_until AS n FROM day_turn").await,
            serde_json::Value::Null,
            "{backend:?}: the claim is let go"
        );
    }
}
