//! Demo data: the demo users of [`users`]. (The roles and permissions they hold are not demo
//! data: the catalogue migration writes them in every deployment, see [`crate::catalogue`].)
//!
//! [`seed`] is idempotent and never overwrites: a user that exists is left as it is (an
//! administrator's edits survive the next `tis up`), and a user's assignments are written only
//! when that user is created. It runs in one transaction.

pub mod users;

use tis_store::{Db, Sql, StoreError, Tx};

pub use users::{
    ALL_DBCS, DemoUser, ETL_USER, OBSERVER_DBC, OBSERVER_PROGRAMME, RESTRICTED_ROLES,
    TRUST_ADMIN_DBC, TRUST_ADMIN_TRUST, USERS,
};

/// Loads what is missing; returns the number of rows inserted.
pub async fn seed(db: &Db) -> Result<usize, StoreError> {
    let mut tx = db.begin().await?;
    let mut n = 0;
    for user in USERS {
        n += seed_user(&mut tx, user).await?;
    }
    tx.commit().await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

async fn seed_user(tx: &mut Tx, u: &DemoUser) -> Result<u64, StoreError> {
    let mut q = Sql::new(
        "INSERT INTO hee_user (name, first_name, last_name, gmc_id, phone_number, email_address, active) VALUES (",
    );
    q.bind(u.name)
        .push(", ")
        .bind(u.first_name)
        .push(", ")
        .bind(u.last_name)
        .push(", ")
        .bind(u.gmc_id)
        .push(", ")
        .bind(Option::<&str>::None)
        .push(", ")
        .bind(format!("{}@tis.localhost", u.name))
        .push(", ")
        .bind(u.active)
        .push(") ON CONFLICT DO NOTHING");
    if tx.execute(q).await? == 0 {
        return Ok(0);
    }
    let mut n = 1;
    for role in u.roles {
        let mut q = Sql::new("INSERT INTO user_role (user_name, role_name) VALUES (");
        q.bind(u.name).push(", ").bind(*role).push(")");
        n += tx.execute(q).await?;
    }
    for dbc in u.dbcs {
        let mut q =
            Sql::new("INSERT INTO user_designated_body (user_name, designated_body_code) VALUES (");
        q.bind(u.name).push(", ").bind(*dbc).push(")");
        n += tx.execute(q).await?;
    }
    for (id, code, name) in u.trusts {
        let mut q = Sql::new(
            "INSERT INTO user_trust (user_name, trust_id, trust_code, trust_name) VALUES (",
        );
        q.bind(u.name)
            .push(", ")
            .bind(*id)
            .push(", ")
            .bind(*code)
            .push(", ")
            .bind(*name)
            .push(")");
        n += tx.execute(q).await?;
    }
    for (id, name, number) in u.programmes {
        let mut q = Sql::new(
            "INSERT INTO user_programme (user_name, programme_id, programme_name, programme_number) VALUES (",
        );
        q.bind(u.name)
            .push(", ")
            .bind(*id)
            .push(", ")
            .bind(*name)
            .push(", ")
            .bind(*number)
            .push(")");
        n += tx.execute(q).await?;
    }
    Ok(n)
}
