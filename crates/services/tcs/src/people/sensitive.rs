//! Sensitive personal details: who sees them and who may change them (issue 12 item 3).
//!
//! The original (`PersonServiceImpl.clearSensitiveData`, `PersonalDetailsServiceImpl`) masked
//! four fields of `PersonalDetailsDTO` — `disability`, `disabilityDetails`, `religiousBelief`,
//! `sexualOrientation` — for callers without `personsensitive:view:entities`. We also mask
//! the fields the issue names (a deliberate widening, docs/tcs.md "Sensitive data"):
//! `ethnicOrigin`, `gender` (gender identity), `dateOfBirth` and `nationalInsuranceNumber`.
//!
//! - **Reading** without [`VIEW`]: the fields are `null` wherever a person's personal
//!   details are returned (`/people/{id}`, `/people/v2/{id}`, `/people/in/{ids}`,
//!   `/people/phn/in/{phns}`, `/personal-details…`, write responses) and in the history.
//! - **Writing** without [`EDIT`]: as the original's update, the fields keep their stored
//!   values (on create: none) whatever the body says; no 403, so that a client that read the
//!   masked record and sends it back does not erase or fail. The original did this for `POST`
//!   and `PUT` only; we apply it to every write (PATCH and bulk too).
//!
//! Values are never logged: handlers log ids only.

use serde_json::{Map, Value};
use tis_auth::Principal;

/// Who sees the sensitive fields.
pub const VIEW: &str = "personsensitive:view:entities";
/// Who may change them.
pub const EDIT: &str = "personsensitive:add:modify:entities";

/// The sensitive fields of `PersonalDetailsDTO`.
pub const FIELDS: &[&str] = &[
    "disability",
    "disabilityDetails",
    "religiousBelief",
    "sexualOrientation",
    "ethnicOrigin",
    "gender",
    "dateOfBirth",
    "nationalInsuranceNumber",
];

/// The history's record name of the personal details, whose sensitive fields are masked.
pub const RECORD: &str = "personalDetails";

/// Whether `who` sees the sensitive fields.
pub fn may_view(who: &Principal) -> bool {
    who.has_authority(VIEW)
}

/// Nulls the sensitive fields of `personal` (a `PersonalDetailsDTO`) unless `who` may view them.
pub fn mask(who: &Principal, personal: &mut Map<String, Value>) {
    if !may_view(who) {
        for f in FIELDS {
            if personal.contains_key(*f) {
                personal.insert((*f).to_owned(), Value::Null);
            }
        }
    }
}

/// Unless `who` may edit them, sets the sensitive fields of `after` to their values in
/// `before` (the stored record; none when creating).
pub fn protect(
    who: &Principal,
    before: Option<&Map<String, Value>>,
    after: &mut Map<String, Value>,
) {
    if who.has_authority(EDIT) {
        return;
    }
    for f in FIELDS {
        let kept = before
            .and_then(|b| b.get(*f))
            .cloned()
            .unwrap_or(Value::Null);
        after.insert((*f).to_owned(), kept);
    }
}

/// Whether a history entry of `record`'s `field` is masked for `who`.
pub fn masked_in_history(who: &Principal, record: &str, field: &str) -> bool {
    record == RECORD && FIELDS.contains(&field) && !may_view(who)
}
