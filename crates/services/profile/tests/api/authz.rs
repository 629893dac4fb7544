//! The authorisation matrix: every endpoint, called by every demo user with the principal the
//! gateway would mint from their seeded profile (`/userinfo` with their own access token).
//! `2` means a 2xx answer, `-` a 403 `forbidden`.
//!
//! The IdP's demo identities hold roles for TCS and Reference work; none of them administers
//! Profile, so two seeded users that do are in the table too (`profile.admin`: ProfileAdmin
//! and HEE User Admin; `reval.admin`: HEE Admin Revalidation).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const USERS: [&str; 7] = [
    "admin",
    "sensitive",
    "trust.admin",
    "observer",
    "service-account-etl",
    "profile.admin",
    "reval.admin",
];

/// `{tmp}` is a fresh name, created beforehand (by an administrator) for the deletes.
const MATRIX: &str = "
                                                       admin sensitive trust.admin observer etl profile.admin reval.admin
GET    /profile/api/userinfo                             2       2          2          2      2         2            2
GET    /profile/api/userupdate                           2       2          2          2      2         2            2
GET    /profile/api/hee-users                            -       -          -          -      -         2            -
GET    /profile/api/hee-users/admin                      -       -          -          -      -         2            -
GET    /profile/api/hee-users/ADMIN/ignore-case          -       -          -          -      -         2            -
GET    /profile/api/single-hee-users?username=admin      -       -          -          -      -         2            -
GET    /profile/api/hee-users-with-roles/ETL             -       -          -          -      -         2            -
POST   /profile/api/hee-users                            -       -          -          -      -         2            -
PUT    /profile/api/hee-users                            -       -          -          -      -         2            -
DELETE /profile/api/hee-users/{tmp}                      -       -          -          -      -         2            -
GET    /profile/api/roles                                -       -          -          -      -         2            -
GET    /profile/api/roles/ETL                            -       -          -          -      -         2            -
GET    /profile/api/restricted-roles                     -       -          -          -      -         2            -
POST   /profile/api/roles                                -       -          -          -      -         2            -
PUT    /profile/api/roles                                -       -          -          -      -         2            -
DELETE /profile/api/roles/{tmp}                          -       -          -          -      -         2            -
GET    /profile/api/permissions                          -       -          -          -      -         2            -
GET    /profile/api/permissions/person:view              -       -          -          -      -         2            -
POST   /profile/api/permissions                          -       -          -          -      -         2            -
PUT    /profile/api/permissions                          -       -          -          -      -         2            -
DELETE /profile/api/permissions/{tmp}                    -       -          -          -      -         2            -
GET    /profile/api/users?designatedBodyCode=1-AIIDWA    -       -          -          -      -         -            2
GET    /profile/api/users/ro-user/1-AIIDWA               -       -          -          -      -         -            2
POST   /profile/api/trainee-id/1-AIIDWA/register         -       -          -          -      2         -            -
GET    /profile/api/trainee-id/1-AIIDWA/mappings         -       -          -          -      2         -            -
";

struct Row {
    method: Method,
    path: &'static str,
    allowed: Vec<bool>,
}

fn rows() -> Vec<Row> {
    let mut lines = MATRIX.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(header.len(), USERS.len(), "one column per user");
    lines
        .map(|line| {
            let cells: Vec<&'static str> = line.split_whitespace().collect();
            assert_eq!(cells.len(), 2 + USERS.len(), "row: {line}");
            Row {
                method: cells[0].parse().expect("method"),
                path: cells[1],
                allowed: cells[2..]
                    .iter()
                    .map(|c| match *c {
                        "2" => true,
                        "-" => false,
                        other => panic!("cell {other:?} in {line}"),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The resource kind a path is about, for bodies and throwaway records.
fn kind(path: &str) -> &'static str {
    if path.contains("/hee-users") {
        "hee-users"
    } else if path.contains("/roles") {
        "roles"
    } else if path.contains("/permissions") {
        "permissions"
    } else {
        "trainees"
    }
}

fn body(kind: &str, tmp: &str, n: usize) -> Value {
    match kind {
        "hee-users" => json!({"name": tmp, "roles": [{"name": "HEE Trust Observer"}]}),
        "roles" => json!({"name": tmp, "permissions": [{"name": "curriculum:view"}]}),
        "permissions" => {
            json!({"name": tmp, "type": "PCS", "resource": "tis:matrix::", "actions": ["View"]})
        }
        _ => json!([{"gmcNumber": format!("79{n:05}")}]),
    }
}

#[tokio::test]
async fn every_endpoint_admits_exactly_the_demo_users_its_permission_allows() {
    for b in BACKENDS {
        let app = spawn_app(b).await;
        let mut principals = Vec::new();
        for user in USERS {
            principals.push(app.principal_of(user).await);
        }
        let mut n = 0;
        let mut wrong = Vec::new();
        for row in rows() {
            for (u, user) in USERS.iter().enumerate() {
                n += 1;
                let tmp = format!("matrix-{n}");
                let kind = kind(row.path);
                if row.method == Method::DELETE {
                    let res = app
                        .send(
                            Method::POST,
                            &format!("/profile/api/{kind}"),
                            &body(kind, &tmp, n),
                        )
                        .await;
                    assert_eq!(res.status(), 201, "setting up {tmp}");
                }
                let path = row.path.replace("{tmp}", &tmp);
                let mut req = if path.ends_with("/userinfo") || path.ends_with("/userupdate") {
                    app.client
                        .get(app.url(&path))
                        .bearer_auth(app.access_token(user))
                } else {
                    app.request(row.method.clone(), &path, Some(&principals[u]))
                };
                if row.method == Method::POST || row.method == Method::PUT {
                    req = req.json(&body(kind, &tmp, n));
                }
                let res = req.send().await.expect("request");
                let status = res.status();
                let ok = if row.allowed[u] {
                    status.is_success()
                } else {
                    let (s, code, _) = error_code(res).await;
                    s == 403 && code == "forbidden"
                };
                if !ok {
                    wrong.push(format!("{} {path} as {user}: {status}", row.method));
                }
            }
        }
        assert!(wrong.is_empty(), "{b:?}: {wrong:#?}");
    }
}

#[tokio::test]
async fn the_table_agrees_with_the_role_catalogue() {
    // A `2` in a principal-guarded row must be the catalogue's doing: the users' roles grant
    // exactly the profile permissions the table implies.
    let catalogue = tis_auth::RoleCatalogue::tis();
    let holds = |roles: &[&str], permission: &str| {
        roles
            .iter()
            .any(|r| catalogue.role(r).is_some_and(|p| p.contains(permission)))
    };
    let roles_of = |user: &str| {
        tis_profile::demo::USERS
            .iter()
            .find(|u| u.name == user)
            .expect("demo user")
            .roles
    };
    for row in rows() {
        let permission = match (row.method.as_str(), kind(row.path)) {
            (_, _) if row.path.contains("/userinfo") || row.path.contains("/userupdate") => {
                continue;
            }
            (_, _) if row.path.contains("/ro-user/") => "profile:get:ro:user",
            (_, _) if row.path.contains("/users?") => "profile:get:users",
            (_, _) if row.path.ends_with("/register") => "profile:register:trainee",
            (_, _) if row.path.ends_with("/mappings") => "profile:view:all:mappings",
            ("GET", _) => "profile:view:entities",
            ("DELETE", _) => "profile:delete:entities",
            _ => "profile:add:modify:entities",
        };
        for (u, user) in USERS.iter().enumerate() {
            assert_eq!(
                row.allowed[u],
                holds(roles_of(user), permission),
                "{} {} for {user}",
                row.method,
                row.path
            );
        }
    }
}
