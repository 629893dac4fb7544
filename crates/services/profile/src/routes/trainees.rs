//! `/trainee-id/{dbc}/…`: GMC numbers → TIS trainee ids, for revalidation.
//!
//! | route | answer |
//! |---|---|
//! | `POST /trainee-id/{dbc}/register`, body `[{gmcNumber, dateAdded}]` | `{traineeIds: [TraineeProfileDto]}`: the new ids, then those already of this body, then those moved in |
//! | `GET /trainee-id/{dbc}/mappings?page=&size=` | `{content, totalElements, totalPages}` plus `X-Total-Count` and `Link`; by id (`sort` refused) |

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::Uri;
use serde::Deserialize;
use tis_core::FieldError;
use tis_core::extract::{Json as Body, Path};
use tis_core::paging::{ListParams, query_pairs};

use super::dto::{PagedResponse, TraineeDto, TraineeIdList};
use super::input::Fields;
use super::{API, AppState, Can, RegisterTrainee, ViewMappings, segment};
use crate::domain::Registration;
use crate::domain::names::check_label;
use crate::error::ApiError;

/// `RegistrationRequest{gmcNumber, dateAdded}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationInput {
    pub gmc_number: Option<String>,
    pub date_added: Option<String>,
}

/// Parses a trainee registration list; a GMC number given twice counts once (the first).
pub fn parse_registrations(
    inputs: &[RegistrationInput],
    max_items: usize,
) -> Result<Vec<Registration>, Vec<FieldError>> {
    let mut f = Fields::default();
    f.list_len("body", inputs.len(), max_items);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, r) in inputs.iter().enumerate() {
        let field = format!("[{i}].gmcNumber");
        let gmc = f.text(&field, &r.gmc_number, 20);
        if gmc.is_none() {
            f.add(field, "must not be blank");
        }
        let date_added = match r
            .date_added
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            None => None,
            Some(d) => match crate::repo::parse_date(d).filter(|_| d.len() == 10) {
                Some(date) => Some(date),
                None => {
                    f.add(format!("[{i}].dateAdded"), "must be a date, YYYY-MM-DD");
                    None
                }
            },
        };
        let Some(gmc) = gmc else { continue };
        if seen.insert(gmc.clone()) {
            out.push(Registration {
                gmc_number: gmc,
                date_added,
            });
        }
    }
    f.finish(out)
}

fn designated_body(dbc: &str) -> Result<(), ApiError> {
    check_label(dbc).map_err(|e| ApiError::bad_query(format!("designated body code {e}")))
}

/// `POST /trainee-id/{dbc}/register`.
pub async fn register(
    State(st): State<AppState>,
    _who: Can<RegisterTrainee>,
    Path(dbc): Path<String>,
    Body(inputs): Body<Vec<RegistrationInput>>,
) -> Result<Json<TraineeIdList>, ApiError> {
    designated_body(&dbc)?;
    let registrations =
        parse_registrations(&inputs, st.limits.max_items).map_err(ApiError::Validation)?;
    let trainees = st.repo.register_trainees(&dbc, &registrations).await?;
    Ok(Json(TraineeIdList {
        trainee_ids: trainees.iter().map(TraineeDto::from).collect(),
    }))
}

/// `GET /trainee-id/{dbc}/mappings`.
pub async fn mappings(
    State(st): State<AppState>,
    _who: Can<ViewMappings>,
    Path(dbc): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    designated_body(&dbc)?;
    // Mappings are by id: a fixed order, `sort` refused.
    let list = ListParams::parse(
        &query_pairs(uri.query()),
        &super::paging::<()>(&st.limits, &[]),
    )?;
    let (trainees, total) = st.repo.trainee_mappings(&dbc, list.page).await?;
    let path = format!("{API}/trainee-id/{}/mappings", segment(&dbc));
    let headers = list.headers(&path, total);
    let content = trainees.iter().map(TraineeDto::from).collect();
    let body = PagedResponse::new(content, list.page, total);
    Ok((headers, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_keep_the_first_of_a_repeated_gmc_number_and_check_dates() {
        let inputs: Vec<RegistrationInput> = serde_json::from_value(serde_json::json!([
            {"gmcNumber": "7000001", "dateAdded": "2024-01-31"},
            {"gmcNumber": "7000001"},
            {"gmcNumber": "7000002", "dateAdded": "31/01/2024"}
        ]))
        .expect("body");
        let err = parse_registrations(&inputs, 10).expect_err("bad date");
        assert_eq!(err[0].field, "[2].dateAdded");
        let ok = parse_registrations(&inputs[..2], 10).expect("valid");
        assert_eq!(ok.len(), 1);
        assert_eq!(
            ok[0].date_added.map(|d| d.to_string()).as_deref(),
            Some("2024-01-31")
        );
    }
}
