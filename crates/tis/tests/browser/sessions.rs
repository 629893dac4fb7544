//! The web application's session rows in a `tis up`'s SQLite database (`.tis/web.db`, shared by
//! its web instances), read and aged by the tests: a session made due for a token refresh at
//! once, as it would be minutes later. Used by `web.rs` and `web_browser.rs`.

use sqlx::Connection;

/// The `sqlite://` URL of the web instances' database in `up`'s folder.
pub fn web_db(up: &tis_testkit::up::TisUp) -> String {
    format!("sqlite://{}", up.dir().join(".tis/web.db").display())
}

/// The `access_expires` of the session whose cookie value is `session`, or `None` once it is
/// gone.
pub async fn access_expires(web_db: &str, session: &str) -> Option<i64> {
    let id = tis_web::session::hash(session);
    let mut db = sqlx::SqliteConnection::connect(web_db)
        .await
        .expect("web.db");
    sqlx::query_scalar::<_, i64>("SELECT access_expires FROM web_session WHERE id_hash = ?")
        .bind(id)
        .fetch_optional(&mut db)
        .await
        .expect("a session row")
}

/// Makes the session's access token look `left` seconds from its end to the web application
/// (the token itself is untouched): its next page needs a refresh. Returns the new expiry.
pub async fn age_session(web_db: &str, session: &str, left: i64) -> i64 {
    let id = tis_web::session::hash(session);
    let at = tis_web::session::now() + left;
    let mut db = sqlx::SqliteConnection::connect(web_db)
        .await
        .expect("web.db");
    let done = sqlx::query("UPDATE web_session SET access_expires = ? WHERE id_hash = ?")
        .bind(at)
        .bind(id)
        .execute(&mut db)
        .await
        .expect("update the session");
    assert_eq!(done.rows_affected(), 1, "the browser's session row");
    at
}
