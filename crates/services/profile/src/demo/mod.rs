//! Demo data: every role of DOMAIN §5 with its permissions, every permission with its
//! policy, all taken from tis-auth's [`RoleCatalogue::tis`] (one source of truth), and the
//! demo users of [`users`].
//!
//! [`seed`] is idempotent and never overwrites: a permission, role or user that exists is
//! left as it is (an administrator's edits survive the next `tis up`), and a role's
//! permissions or a user's assignments are written only when that role or user is created.
//! It runs in one transaction.

pub mod users;

use tis_auth::RoleCatalogue;
use tis_store::{Db, Sql, StoreError, Tx};

use crate::domain::effect_name;
pub use users::{
    ALL_DBCS, DemoUser, ETL_USER, OBSERVER_DBC, OBSERVER_PROGRAMME, RESTRICTED_ROLES,
    TRUST_ADMIN_DBC, TRUST_ADMIN_TRUST, USERS,
};

/// Loads what is missing; returns the number of rows inserted.
pub async fn seed(db: &Db) -> Result<usize, StoreError> {
    let catalogue = RoleCatalogue::tis();
    let mut tx = db.begin().await?;
    let mut n = 0;
    for p in catalogue.permissions() {
        let mut q = Sql::new(
            "INSERT INTO permission (name, permission_type, description, principal, resource, actions, effect) VALUES (",
        );
        q.bind(p.name.as_str())
            .push(", ")
            .bind(p.kind.as_str())
            .push(", ")
            .bind(Option::<&str>::None)
            .push(", ")
            .bind(p.policy.principal.as_str())
            .push(", ")
            .bind(p.policy.resource.as_str())
            .push(", ")
            .bind(p.policy.actions.join(","))
            .push(", ")
            .bind(effect_name(p.policy.effect))
            .push(") ON CONFLICT DO NOTHING");
        n += tx.execute(q).await?;
    }
    let role_names: Vec<String> = catalogue.role_names().map(str::to_owned).collect();
    for role in &role_names {
        let restricted = RESTRICTED_ROLES.contains(&role.as_str());
        let mut q = Sql::new("INSERT INTO role (name, restricted) VALUES (");
        q.bind(role.as_str())
            .push(", ")
            .bind(restricted)
            .push(") ON CONFLICT DO NOTHING");
        if tx.execute(q).await? == 0 {
            continue;
        }
        n += 1;
        for permission in catalogue.role(role).into_iter().flatten() {
            let mut q =
                Sql::new("INSERT INTO role_permission (role_name, permission_name) VALUES (");
            q.bind(role.as_str())
                .push(", ")
                .bind(permission.as_str())
                .push(")");
            n += tx.execute(q).await?;
        }
    }
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
