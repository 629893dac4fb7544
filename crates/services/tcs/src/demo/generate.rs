//! Synthetic trainees, generated deterministically: the same seed, count and day make the
//! same people. Nobody real: a person is a random pick of names and numbers.
//!
//! Each person gets contact, personal, GMC (or, for dentists, GDC) and right-to-work
//! records, a primary qualification, and programme memberships that fit their age: a
//! foundation programme two years after qualifying, then a specialty programme of their
//! office, past, current or future, with a training number in the original's format
//! (`NWE/610/006/C`: deanery, specialty code, number, suffix). Their list row and owner are
//! computed by the same code a write uses ([`crate::people::refresh`]). Posts at Reference's
//! demo sites come first (`posts`: a quarter as many as people), placements last
//! (`placements`: a year at a time in their programmes' posts, keeping the overlap rules).
//!
//! Coded fields hold the codes of Reference's demo data (title `DR`, gender `M`, marital
//! status `SINGLE`, GMC status `REGISTERED_WITH_LICENCE`…; nationality, ethnic origin and
//! country their Reference keys, which are the names), so that a record read and written back
//! unchanged passes TCS's Reference checks.

use fastrand::Rng;
use time::{Date, Month};
use tis_store::{Sql, StoreError, Tx, Value};

use super::catalogue::{self, DENTAL, FOUNDATION, OFFICES, PROGRAMMES_PER_OFFICE, SPECIALTIES};
use super::names::{FORENAMES, SURNAMES, TITLES};

mod placements;
mod posts;

/// Rows per progress report of the placements.
const BATCH: usize = 250;

/// Told how far generation is: the step (`posts`, `people`, `list rows`, `placements`,
/// `placed list rows`), what of it is done, and its whole (for a progress bar and an ETA).
pub type Progress<'a> = &'a (dyn Fn(&'static str, usize, usize) + Send + Sync);

/// A [`Progress`] that tells nobody.
pub fn no_progress(_: &'static str, _: usize, _: usize) {}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub people: usize,
    pub seed: u64,
    /// The day "current" is measured against (today, normally).
    pub today: Date,
}

/// A 7-digit GMC number unique to person `i` (a bijection of 0..9,000,000).
pub fn gmc_number(i: usize) -> String {
    let n = (i as u64).wrapping_mul(7_919).wrapping_add(1_000_003) % 9_000_000 + 1_000_000;
    n.to_string()
}

/// A GDC number unique to person `i` (5–6 digits).
pub fn gdc_number(i: usize) -> String {
    ((i as u64).wrapping_mul(104_729) % 900_000 + 100_000).to_string()
}

fn pick<'a>(rng: &mut Rng, list: &'a [&'a str]) -> &'a str {
    list[rng.usize(..list.len())]
}

fn date(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap_or(Month::January), d)
        .unwrap_or(Date::MIN)
}

/// Collects rows for one table and writes them in bulk ([`Tx::insert_rows`]: `COPY` on
/// PostgreSQL).
struct Table {
    /// `table (column, …)`.
    target: &'static str,
    width: usize,
    rows: Vec<Vec<Value>>,
}

impl Table {
    fn new(target: &'static str, width: usize) -> Table {
        Table {
            target,
            width,
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.width, "{}", self.target);
        self.rows.push(row);
    }

    async fn flush(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        tx.insert_rows(self.target, &self.rows).await?;
        self.rows.clear();
        Ok(())
    }
}

/// The fixed catalogue: specialty groups, specialties, curricula (one per specialty, id =
/// specialty id), programmes (office × specialty, ids from 1), their curricula, one rotation
/// each. Returns the programmes as (id, office index, specialty index).
async fn catalogue(tx: &mut Tx) -> Result<Vec<(i64, usize, usize)>, StoreError> {
    let mut groups = Table::new("specialty_group (id, uuid, name)", 3);
    for (i, name) in catalogue::GROUPS.iter().enumerate() {
        groups.push(vec![
            Value::Int(i as i64 + 1),
            Value::Uuid(uuid::Uuid::from_u128(0x5000 + i as u128)),
            Value::Text((*name).into()),
        ]);
    }
    groups.flush(tx).await?;
    let mut specialties = Table::new(
        "specialty (id, uuid, status, college, specialty_code, name, specialty_group_id, specialty_types, block_indemnity)",
        9,
    );
    let mut curricula = Table::new(
        "curriculum (id, uuid, status, name, curriculum_sub_type, length, assessment_type, does_this_curriculum_lead_to_cct, eligible_for_period_of_grace, period_of_grace, specialty_id)",
        11,
    );
    for (i, (name, code, group, college, _)) in SPECIALTIES.iter().enumerate() {
        let id = i as i64 + 1;
        specialties.push(vec![
            Value::Int(id),
            Value::Uuid(uuid::Uuid::from_u128(0x6000 + i as u128)),
            Value::Text("CURRENT".into()),
            Value::Text((*college).into()),
            Value::Text((*code).into()),
            Value::Text((*name).into()),
            Value::Int(*group as i64 + 1),
            Value::Text("CURRICULUM,POST,PLACEMENT".into()),
            Value::Bool(false),
        ]);
        let (sub_type, months, cct) = match i {
            DENTAL => ("DENTAL_CURRICULUM", 12, false),
            FOUNDATION => ("MEDICAL_CURRICULUM", 24, false),
            0 => ("MEDICAL_CURRICULUM", 36, true),
            _ => ("MEDICAL_CURRICULUM", 60, true),
        };
        curricula.push(vec![
            Value::Int(id),
            Value::Uuid(uuid::Uuid::from_u128(0x7000 + i as u128)),
            Value::Text("CURRENT".into()),
            Value::Text(format!("{name} curriculum")),
            Value::Text(sub_type.into()),
            Value::Int(months),
            Value::Text("ARCP".into()),
            Value::Bool(cct),
            Value::Bool(cct),
            Value::Int(if cct { 6 } else { 0 }),
            Value::Int(id),
        ]);
    }
    specialties.flush(tx).await?;
    curricula.flush(tx).await?;
    let mut programmes = Table::new(
        "programme (id, status, owner, programme_name, programme_number)",
        5,
    );
    let mut links = Table::new(
        "programme_curriculum (programme_id, curriculum_id, gmc_programme_code)",
        3,
    );
    let mut rotations = Table::new("rotation (programme_id, name, status)", 3);
    let mut out = Vec::new();
    for (o, office) in OFFICES.iter().enumerate() {
        for &s in PROGRAMMES_PER_OFFICE {
            let id = out.len() as i64 + 1;
            let (name, number) = catalogue::programme(office, s);
            programmes.push(vec![
                Value::Int(id),
                Value::Text("CURRENT".into()),
                Value::Text(office.owner.into()),
                Value::Text(name.clone()),
                Value::Text(number.clone()),
            ]);
            links.push(vec![
                Value::Int(id),
                Value::Int(s as i64 + 1),
                Value::Text(format!("{}{}", office.deanery, SPECIALTIES[s].1)),
            ]);
            rotations.push(vec![
                Value::Int(id),
                Value::Text(format!("{name} rotation")),
                Value::Text("CURRENT".into()),
            ]);
            out.push((id, o, s));
        }
    }
    programmes.flush(tx).await?;
    links.flush(tx).await?;
    rotations.flush(tx).await?;
    Ok(out)
}

/// Writes the catalogue and `plan.people` people into empty tables, in `tx` (the caller
/// commits it). Bulk tables go in by [`Tx::insert_rows`] (`COPY` on PostgreSQL), derived rows
/// by set-based statements: a few statements per thousand rows, so that a load of millions of
/// rows is not a million round trips. Returns the rows written.
pub async fn generate(
    tx: &mut Tx,
    plan: Plan,
    progress: Progress<'_>,
) -> Result<usize, StoreError> {
    let programmes = catalogue(tx).await?;
    let mut written = posts::generate(
        tx,
        &programmes,
        posts::count(plan.people),
        plan.today,
        progress,
    )
    .await?;
    let mut person = Table::new(
        "person (id, added_date, amended_date, role, status, public_health_number, regulator, created_owner)",
        8,
    );
    let mut contact = Table::new(
        "contact_details (id, surname, forenames, known_as, title, email, mobile_number, address1, address2, post_code, country)",
        11,
    );
    let mut personal = Table::new(
        "personal_details (id, date_of_birth, gender, nationality, marital_status, ethnic_origin, religious_belief, sexual_orientation, disability, national_insurance_number)",
        10,
    );
    let mut gmc = Table::new(
        "gmc_details (id, gmc_number, gmc_status, gmc_start_date)",
        4,
    );
    let mut gdc = Table::new(
        "gdc_details (id, gdc_number, gdc_status, gdc_start_date)",
        4,
    );
    let mut rtw = Table::new(
        "right_to_work (id, eea_resident, permit_to_work, settled)",
        4,
    );
    let mut qualification = Table::new(
        "qualification (person_id, qualification, qualification_type, qualification_attained_date, medical_school, country_of_qualification)",
        6,
    );
    let mut numbers = Table::new(
        "training_number (id, training_number_type, training_number, number, appointment_year, type_of_contract, suffix, programme_id)",
        8,
    );
    let mut memberships = Table::new(
        "programme_membership (uuid, person_id, programme_id, programme_membership_type, programme_start_date, programme_end_date, training_pathway, rotation_id, training_number_id)",
        9,
    );
    let mut curricula = Table::new(
        "curriculum_membership (programme_membership_uuid, curriculum_id, curriculum_start_date, curriculum_end_date, period_of_grace)",
        5,
    );
    let now = time::OffsetDateTime::now_utc();
    let year = plan.today.year();
    for i in 0..plan.people {
        let id = i as i64 + 1;
        let mut rng = Rng::with_seed(plan.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let office_index = rng.usize(..OFFICES.len());
        let office = &OFFICES[office_index];
        let dentist = rng.u8(..100) < 8;
        let forenames = pick(&mut rng, FORENAMES);
        let surname = pick(&mut rng, SURNAMES);
        let age = rng.i32(24..=45);
        let born = date(year - age, rng.u8(1..=12), rng.u8(1..=28));
        let qualified = year - age + 23 + rng.i32(0..=1);
        let (town, area) = office.towns[rng.usize(..office.towns.len())];
        person.push(vec![
            Value::Int(id),
            Value::Timestamp(now),
            Value::Timestamp(now),
            Value::Text("DR in Training".into()),
            Value::Text("CURRENT".into()),
            Value::NullOf(tis_store::SqlType::Text),
            Value::Text(if dentist { "GDC" } else { "GMC" }.into()),
            Value::Text(office.owner.into()),
        ]);
        contact.push(vec![
            Value::Int(id),
            Value::Text(surname.into()),
            Value::Text(forenames.into()),
            Value::Text(forenames.into()),
            Value::Text(pick(&mut rng, TITLES).into()),
            Value::Text(format!(
                "{}.{}{}@nhs.net",
                forenames.to_lowercase(),
                surname.to_lowercase().replace('\'', ""),
                i % 97
            )),
            Value::Text(format!(
                "07{:03} {:06}",
                rng.u32(100..1000),
                rng.u32(..1_000_000)
            )),
            Value::Text(format!(
                "{} {} Road",
                rng.u16(1..300),
                pick(&mut rng, SURNAMES)
            )),
            Value::Text(town.into()),
            Value::Text(format!(
                "{area}{} {}{}{}",
                rng.u8(1..20),
                rng.u8(1..10),
                (b'A' + rng.u8(..26)) as char,
                (b'A' + rng.u8(..26)) as char
            )),
            Value::Text("United Kingdom".into()),
        ]);
        personal.push(vec![
            Value::Int(id),
            Value::Date(born),
            Value::Text(pick(&mut rng, &["M", "F"]).into()),
            Value::Text(
                pick(
                    &mut rng,
                    &[
                        "British",
                        "British",
                        "British",
                        "Irish",
                        "Indian",
                        "Nigerian",
                        "Pakistani",
                        "Polish",
                    ],
                )
                .into(),
            ),
            Value::Text(pick(&mut rng, &["SINGLE", "MARRIED", "SINGLE", "CIVIL"]).into()),
            Value::Text(
                pick(
                    &mut rng,
                    &[
                        "White - British",
                        "Asian or Asian British - Indian",
                        "Black or Black British - African",
                        "Mixed - White and Asian",
                        "Not stated",
                    ],
                )
                .into(),
            ),
            Value::Text(
                pick(
                    &mut rng,
                    &[
                        "CHRISTIANITY",
                        "ISLAM",
                        "HINDUISM",
                        "ATHEISM",
                        "UNDISCLOSED",
                    ],
                )
                .into(),
            ),
            Value::Text(
                pick(
                    &mut rng,
                    &["HETEROSEXUAL", "UNDISCLOSED", "GAY_WOMAN", "BISEXUAL"],
                )
                .into(),
            ),
            Value::Text(if rng.u8(..100) < 5 { "YES" } else { "NO" }.into()),
            Value::Text(format!(
                "{}{}{:06}{}",
                (b'A' + rng.u8(..23)) as char,
                (b'A' + rng.u8(..23)) as char,
                rng.u32(..1_000_000),
                pick(&mut rng, &["A", "B", "C", "D"])
            )),
        ]);
        if dentist {
            gdc.push(vec![
                Value::Int(id),
                Value::Text(gdc_number(i)),
                Value::Text("REGISTERED".into()),
                Value::Date(date(qualified, 7, 15)),
            ]);
        } else {
            gmc.push(vec![
                Value::Int(id),
                Value::Text(gmc_number(i)),
                Value::Text("REGISTERED_WITH_LICENCE".into()),
                Value::Date(date(qualified, 8, 1)),
            ]);
        }
        rtw.push(vec![
            Value::Int(id),
            Value::Text("YES".into()),
            Value::Text("NOT_REQUIRED".into()),
            Value::Text("YES".into()),
        ]);
        qualification.push(vec![
            Value::Int(id),
            Value::Text(if dentist { "BDS" } else { "MBBS" }.into()),
            Value::Text(if dentist { "BDS" } else { "MBBS" }.into()),
            Value::Date(date(qualified, 7, 1)),
            Value::Text(
                pick(
                    &mut rng,
                    &[
                        "University of Manchester",
                        "King's College London",
                        "University of Birmingham",
                        "University of Leeds",
                        "University of Bristol",
                        "Imperial College London",
                        "University of Nottingham",
                    ],
                )
                .into(),
            ),
            Value::Text("United Kingdom".into()),
        ]);
        // Foundation (or dental core training) right after qualifying, then a specialty.
        let first = if dentist { DENTAL } else { FOUNDATION };
        let start = date(qualified, 8, 1);
        let first_end = date(qualified + if dentist { 1 } else { 2 }, 7, 31);
        let programme_of = |s: usize| {
            programmes
                .iter()
                .find(|(_, o, sp)| *o == office_index && *sp == s)
                .map_or(1, |(pid, _, _)| *pid)
        };
        let mut plan_memberships = vec![(programme_of(first), first, start, first_end)];
        if !dentist {
            let specialty = PROGRAMMES_PER_OFFICE
                .iter()
                .copied()
                .filter(|&s| s != FOUNDATION && s != DENTAL)
                .nth(rng.usize(..PROGRAMMES_PER_OFFICE.len() - 2))
                .unwrap_or(0);
            let gap = rng.i32(0..=2);
            let begin = date(qualified + 2 + gap, 8, rng.u8(1..=7));
            let years = if specialty == 0 { 3 } else { rng.i32(5..=7) };
            let end = date(qualified + 2 + gap + years, 7, 31);
            plan_memberships.push((programme_of(specialty), specialty, begin, end));
        }
        for (k, (pid, s, from, to)) in plan_memberships.into_iter().enumerate() {
            let pm = uuid::Uuid::from_u64_pair(plan.seed, (id as u64) << 8 | k as u64);
            let number_id = if s != FOUNDATION {
                let nid = id * 4 + k as i64;
                let kind = if s == DENTAL { "DRN" } else { "NTN" };
                let suffix = if s == 0 { "C" } else { "N" };
                let number = (i % 1000) as i64;
                numbers.push(vec![
                    Value::Int(nid),
                    Value::Text(kind.into()),
                    Value::Text(format!(
                        "{}/{}/{:03}/{suffix}",
                        office.deanery, SPECIALTIES[s].1, number
                    )),
                    Value::Int(nid),
                    Value::Int(i64::from(from.year())),
                    Value::Text("Substantive".into()),
                    Value::Text(suffix.into()),
                    Value::Int(pid),
                ]);
                Value::Int(nid)
            } else {
                Value::NullOf(tis_store::SqlType::Int)
            };
            memberships.push(vec![
                Value::Uuid(pm),
                Value::Int(id),
                Value::Int(pid),
                Value::Text("SUBSTANTIVE".into()),
                Value::Date(from),
                Value::Date(to),
                Value::Text(
                    if s == FOUNDATION || s == DENTAL {
                        "N/A"
                    } else {
                        "CCT"
                    }
                    .into(),
                ),
                Value::Int(pid),
                number_id,
            ]);
            curricula.push(vec![
                Value::Uuid(pm),
                Value::Int(s as i64 + 1),
                Value::Date(from),
                Value::Date(to),
                Value::Int(0),
            ]);
        }
        if person.rows.len() >= 2_000 || i + 1 == plan.people {
            written += person.rows.len() * 8;
            for t in [
                &mut person,
                &mut contact,
                &mut personal,
                &mut gmc,
                &mut gdc,
                &mut rtw,
                &mut qualification,
                &mut numbers,
                &mut memberships,
                &mut curricula,
            ] {
                t.flush(tx).await?;
            }
            progress("people", i + 1, plan.people);
        }
    }
    // Explicit ids leave PostgreSQL's sequences behind: move them past the rows written.
    if tx.backend() == tis_store::Backend::Postgres {
        for table in [
            "specialty_group",
            "specialty",
            "curriculum",
            "programme",
            "person",
            "training_number",
        ] {
            tx.execute(Sql::new(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))"
            )))
            .await?;
        }
    }
    analyze(tx).await?;
    // The list rows and owners, as a write's refresh makes them, a few thousand at a time.
    let mut from = 1;
    while from <= plan.people {
        let to = (from + REFRESH - 1).min(plan.people);
        crate::people::refresh::refresh_range(tx, from as i64..=to as i64, plan.today).await?;
        progress("list rows", to, plan.people);
        from = to + 1;
    }
    written += placements::generate(tx, plan.today, progress).await?;
    analyze(tx).await?;
    Ok(written + plan.people)
}

/// People per [`crate::people::refresh::refresh_range`].
const REFRESH: usize = 2_000;

/// Gives PostgreSQL's planner the loaded tables' statistics (in the loading transaction:
/// `ANALYZE` sees its own rows), so that the statements deriving rows from them, and the
/// service's first queries, are planned for their real sizes. Nothing on SQLite.
async fn analyze(tx: &mut Tx) -> Result<(), StoreError> {
    if tx.backend() == tis_store::Backend::Postgres {
        tx.execute(Sql::new("ANALYZE")).await?;
    }
    Ok(())
}

/// The sensible `today` for generated data: the real one.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmc_and_gdc_numbers_are_unique_and_well_formed() {
        let gmc: std::collections::HashSet<String> = (0..100_000).map(gmc_number).collect();
        assert_eq!(gmc.len(), 100_000);
        assert!(
            gmc.iter()
                .all(|n| n.len() == 7 && n.chars().all(|c| c.is_ascii_digit()))
        );
        let gdc: std::collections::HashSet<String> = (0..50_000).map(gdc_number).collect();
        assert_eq!(gdc.len(), 50_000);
    }
}
