//! Who may see and change which people and programmes: the scope of a caller, from the
//! `TIS-Principal`, enforced in SQL on every person- and programme-keyed read and write.
//!
//! | caller | sees and changes | the original |
//! |---|---|---|
//! | role `ETL` (the `etl` client, batch jobs) | everything | the same |
//! | assigned trusts (a trust admin) | people placed or with memberships in those trusts (`person_trust`) | the same for lists; by id it answered 401, and a person with no trust rows was visible to every trust admin |
//! | assigned programmes (a programme observer) | the people with a membership of those programmes, and those programmes | lists only; never checked by id |
//! | anyone else (HEE staff) | the people and programmes whose owner is among the owners their designated bodies map to ([`super::owners`]) | programmes on write only; people not at all on the server (the UI sent a `currentOwner` filter) |
//!
//! A caller with both assigned trusts and assigned programmes sees either (the original's
//! `ProgrammeOrTrustFilterStrategy`). Out of scope is "not found" (404), never 403: a record
//! outside the caller's scope does not exist for them, and its existence must not leak. These
//! are deliberate tightenings of the original, listed in docs/tcs.md.

use std::collections::BTreeSet;

use tis_auth::Principal;
use tis_store::Sql;

use super::owners;

/// The role that sees everything.
pub const ETL_ROLE: &str = "ETL";

/// A caller's scope (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everything,
    /// People and programmes owned by one of these owners.
    Owners(BTreeSet<&'static str>),
    /// People placed or with memberships in these trusts, or with memberships of these
    /// programmes (either may be empty, not both).
    Assigned {
        trusts: Vec<i64>,
        programmes: Vec<i64>,
    },
}

impl Scope {
    /// The scope of `who`.
    pub fn of(who: &Principal) -> Scope {
        if who.has_role(ETL_ROLE) {
            return Scope::Everything;
        }
        let p = &who.profile;
        if !p.assigned_trusts.is_empty() || !p.assigned_programmes.is_empty() {
            return Scope::Assigned {
                trusts: p.assigned_trusts.iter().map(|t| t.id).collect(),
                programmes: p.assigned_programmes.iter().map(|p| p.id).collect(),
            };
        }
        Scope::Owners(owners::owners_of(
            p.designated_body_codes.iter().map(String::as_str),
        ))
    }

    /// Whether the scope is unrestricted.
    pub fn is_everything(&self) -> bool {
        matches!(self, Scope::Everything)
    }

    /// Appends ` AND (…)` restricting the person rows aliased `p` (columns `id` and
    /// `current_owner`) to this scope; nothing when unrestricted.
    pub fn restrict_people(&self, sql: &mut Sql, p: &str) {
        match self {
            Scope::Everything => {}
            Scope::Owners(owners) => {
                sql.push(&format!(" AND {p}.current_owner IN "));
                sql.bind_list(owners.iter().map(|o| (*o).to_owned()));
            }
            Scope::Assigned { trusts, programmes } => {
                sql.push(" AND (");
                let mut any = false;
                if !trusts.is_empty() {
                    sql.push(&format!(
                        "EXISTS (SELECT 1 FROM person_trust st WHERE st.person_id = {p}.id AND st.trust_id IN "
                    ));
                    sql.bind_list(trusts.iter().copied());
                    sql.push(")");
                    any = true;
                }
                if !programmes.is_empty() {
                    if any {
                        sql.push(" OR ");
                    }
                    sql.push(&format!(
                        "EXISTS (SELECT 1 FROM programme_membership sp WHERE sp.person_id = {p}.id AND sp.programme_id IN "
                    ));
                    sql.bind_list(programmes.iter().copied());
                    sql.push(")");
                }
                sql.push(")");
            }
        }
    }

    /// Appends ` AND (…)` restricting the programme rows aliased `g` (columns `id` and
    /// `owner`) to this scope. A trust admin's programmes are not restricted by trust (a
    /// programme has no trust); only by their programmes when they have some.
    pub fn restrict_programmes(&self, sql: &mut Sql, g: &str) {
        match self {
            Scope::Everything => {}
            Scope::Owners(owners) => {
                sql.push(&format!(" AND {g}.owner IN "));
                sql.bind_list(owners.iter().map(|o| (*o).to_owned()));
            }
            Scope::Assigned { programmes, .. } if !programmes.is_empty() => {
                sql.push(&format!(" AND {g}.id IN "));
                sql.bind_list(programmes.iter().copied());
            }
            Scope::Assigned { .. } => {}
        }
    }

    /// Appends ` AND (…)` restricting the post rows aliased `t` (columns `id` and `owner`) to
    /// this scope: owners their posts; a trust admin the posts at their trusts' sites
    /// (`post_trust`), a programme observer the posts of their programmes (`post_programme`),
    /// either when both. Placements follow their post through this.
    pub fn restrict_posts(&self, sql: &mut Sql, t: &str) {
        match self {
            Scope::Everything => {}
            Scope::Owners(owners) => {
                sql.push(&format!(" AND {t}.owner IN "));
                sql.bind_list(owners.iter().map(|o| (*o).to_owned()));
            }
            Scope::Assigned { trusts, programmes } => {
                sql.push(" AND (");
                let mut any = false;
                for (table, column, ids) in [
                    ("post_trust", "trust_id", trusts),
                    ("post_programme", "programme_id", programmes),
                ] {
                    if ids.is_empty() {
                        continue;
                    }
                    if any {
                        sql.push(" OR ");
                    }
                    sql.push(&format!(
                        "EXISTS (SELECT 1 FROM {table} sx WHERE sx.post_id = {t}.id AND sx.{column} IN "
                    ));
                    sql.bind_list(ids.iter().copied());
                    sql.push(")");
                    any = true;
                }
                sql.push(")");
            }
        }
    }

    /// Whether a record owned by `owner` may be written by this caller (creating a programme,
    /// moving one to another owner): unrestricted callers anything, owners their own,
    /// assigned callers nothing new.
    pub fn may_own(&self, owner: &str) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Owners(owners) => owners.contains(owner),
            Scope::Assigned { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_auth::principal::profile::{AssignedProgramme, AssignedTrust};
    use tis_auth::{AuthenticatedBy, UserProfile};
    use tis_store::{Backend, Value};

    fn who(f: impl FnOnce(&mut UserProfile)) -> Principal {
        let mut p = UserProfile::named("u");
        f(&mut p);
        Principal::new(p, AuthenticatedBy::Gateway)
    }

    #[test]
    fn each_kind_of_caller_gets_its_scope_and_its_sql() {
        let etl = who(|p| {
            p.roles.insert(ETL_ROLE.into());
            p.designated_body_codes.insert("1-1RUZV6H".into());
        });
        assert!(Scope::of(&etl).is_everything());

        let hee = Scope::of(&who(|p| {
            p.designated_body_codes.insert("1-1RUZUSF".into());
        }));
        let mut sql = Sql::new("SELECT id FROM person_view p WHERE 1 = 1");
        hee.restrict_people(&mut sql, "p");
        assert_eq!(
            sql.render(Backend::Postgres),
            "SELECT id FROM person_view p WHERE 1 = 1 AND p.current_owner IN ($1)"
        );
        assert_eq!(sql.values(), [Value::Text("Wessex".into())]);
        assert!(hee.may_own("Wessex"));
        assert!(!hee.may_own("North West London"));

        let trust_admin = Scope::of(&who(|p| {
            p.designated_body_codes.insert("1-1RUZV6H".into());
            p.assigned_trusts.push(AssignedTrust {
                id: 3,
                trust_code: "RYJ".into(),
                trust_name: "Imperial".into(),
            });
        }));
        let mut sql = Sql::new("x WHERE 1 = 1");
        trust_admin.restrict_people(&mut sql, "p");
        let text = sql.render(Backend::Sqlite);
        assert!(text.contains("person_trust st"), "{text}");
        assert!(!text.contains("programme_membership"), "{text}");
        assert!(!trust_admin.may_own("North West London"));

        let both = Scope::of(&who(|p| {
            p.assigned_trusts.push(AssignedTrust {
                id: 3,
                trust_code: "RYJ".into(),
                trust_name: "Imperial".into(),
            });
            p.assigned_programmes.push(AssignedProgramme {
                id: 1,
                programme_name: "GP".into(),
                programme_number: "1".into(),
            });
        }));
        let mut sql = Sql::new("x WHERE 1 = 1");
        both.restrict_people(&mut sql, "p");
        let text = sql.render(Backend::Sqlite);
        assert!(text.contains(") OR EXISTS"), "either: {text}");
        let mut sql = Sql::new("x WHERE 1 = 1");
        both.restrict_posts(&mut sql, "t");
        let text = sql.render(Backend::Sqlite);
        assert!(text.contains("post_trust sx WHERE sx.post_id = t.id AND sx.trust_id IN (?)) OR EXISTS (SELECT 1 FROM post_programme"), "{text}");
        let mut sql = Sql::new("x WHERE 1 = 1");
        hee.restrict_posts(&mut sql, "t");
        assert_eq!(
            sql.render(Backend::Sqlite),
            "x WHERE 1 = 1 AND t.owner IN (?)"
        );
        let mut sql = Sql::new("x WHERE 1 = 1");
        both.restrict_programmes(&mut sql, "g");
        assert!(sql.render(Backend::Sqlite).ends_with("g.id IN (?)"));
    }
}
