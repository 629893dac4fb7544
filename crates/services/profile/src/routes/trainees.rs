//! `/trainee-id/{dbc}/…`: GMC numbers → TIS trainee ids, for revalidation.
//!
//! | route | answer |
//! |---|---|
//! | `POST /trainee-id/{dbc}/register`, body `[{gmcNumber, dateAdded}]` (`dateAdded` as `dd/MM/yyyy`, the original's format; `YYYY-MM-DD` is taken too) | `{traineeIds: [TraineeProfileDto]}`: the new ids, then those already of this body, then those moved in; `dateAdded` answered as `YYYY-MM-DD`, as the original's Jackson wrote a `LocalDate` |
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

use tis_service_kit::http::api::{Api, Body as Doc, Method};

use super::dto::{PagedResponse, TraineeDto, TraineeIdList};
use super::input::Fields;
use super::{API, AppState, Paths, one, op, paged, segment};

pub(super) fn routes(api: Api<AppState>, p: Paths) -> Api<AppState> {
    api.add(
        Method::Post,
        &p("/trainee-id/{designatedBodyCode}/register"),
        register,
        op(
            "TraineeProfile",
            "Registers GMC numbers with a designated body, answering their TIS ids",
            "profile:register:trainee",
        )
        .path("designatedBodyCode")
        .body(Doc::Many("RegistrationInput".into()))
        .returns(200, one("TraineeIdList"))
        .idempotent(),
    )
    .add(
        Method::Get,
        &p("/trainee-id/{designatedBodyCode}/mappings"),
        mappings,
        paged(
            op(
                "TraineeProfile",
                "The GMC number → TIS id mappings of a designated body",
                "profile:view:all:mappings",
            ),
            &[],
        )
        .path("designatedBodyCode")
        .returns(200, one("TraineeMappingsPage")),
    )
}
use crate::domain::Registration;
use crate::domain::names::check_label;
use crate::error::ApiError;

/// `RegistrationRequest{gmcNumber, dateAdded}`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
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
            Some(d) => match date_added(d) {
                Some(date) => Some(date),
                None => {
                    f.add(format!("[{i}].dateAdded"), "must be a date, dd/MM/yyyy");
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

/// A `RegistrationRequest.dateAdded`: `dd/MM/yyyy`, as the original's `@JsonFormat` read it;
/// `YYYY-MM-DD` is taken too (what this service answers in `TraineeProfileDto.dateAdded`).
pub fn date_added(text: &str) -> Option<time::Date> {
    let parts: Vec<&str> = text.split('/').collect();
    if let [day, month, year] = parts[..] {
        if day.len() != 2 || month.len() != 2 || year.len() != 4 {
            return None;
        }
        return crate::repo::parse_date(&format!("{year}-{month}-{day}"));
    }
    crate::repo::parse_date(text).filter(|_| text.len() == 10)
}

fn designated_body(dbc: &str) -> Result<(), ApiError> {
    check_label(dbc).map_err(|e| ApiError::bad_query(format!("designated body code {e}")))
}

/// `POST /trainee-id/{dbc}/register`.
pub async fn register(
    State(st): State<AppState>,
    Path(dbc): Path<String>,
    Body(inputs): Body<Vec<RegistrationInput>>,
) -> Response {
    super::original::answer(
        "registrationRequest",
        async {
            designated_body(&dbc)?;
            let registrations =
                parse_registrations(&inputs, st.limits.max_items).map_err(ApiError::Validation)?;
            let trainees = st.repo.register_trainees(&dbc, &registrations).await?;
            Ok(Json(TraineeIdList {
                trainee_ids: trainees.iter().map(TraineeDto::from).collect(),
            })
            .into_response())
        }
        .await,
    )
}

/// `GET /trainee-id/{dbc}/mappings`.
pub async fn mappings(
    State(st): State<AppState>,
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
            {"gmcNumber": "7000001", "dateAdded": "31/01/2024"},
            {"gmcNumber": "7000001"},
            {"gmcNumber": "7000002", "dateAdded": "2024-01-31"},
            {"gmcNumber": "7000003", "dateAdded": "1/1/2024"}
        ]))
        .expect("body");
        let err = parse_registrations(&inputs, 10).expect_err("bad date");
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "[3].dateAdded");
        let ok = parse_registrations(&inputs[..3], 10).expect("valid");
        assert_eq!(ok.len(), 2);
        assert_eq!(
            ok[0].date_added.map(|d| d.to_string()).as_deref(),
            Some("2024-01-31")
        );
        assert_eq!(ok[0].date_added, ok[1].date_added);
        assert_eq!(date_added("31/02/2024"), None);
    }
}
