//! Demo posts: the establishment at Reference's demo sites, one office's posts at its own
//! trusts' sites, each post in one of the office's demo programmes with that programme's
//! specialty, a grade fitting it, a tariff funding, and a National Post Number in the
//! original's format (`LDN/RJ122/320/ST1/001`). `tis up` gets a quarter as many posts as
//! trainees (750); the large generator scales (200,000 people → 50,000 posts).
//!
//! Sites, trusts and grades are Reference's demo data, by the ids Reference's demo seed gives
//! them (its lists' order: `tis_reference::demo`), so that the posts' sites and trusts are
//! ones Reference knows and trust admins of the demo trusts see their posts.

use std::collections::HashMap;

use time::Date;
use tis_store::{StoreError, Tx, Value};

use super::super::catalogue::{DENTAL, FOUNDATION, OFFICES, SPECIALTIES};
use super::Table;
use crate::posts::npn;

/// Reference's demo sites: (id, code, name, trust id, trust code, owner).
const SITES: &[(i64, &str, &str, i64, &str, &str)] = &[
    (1, "RJ122", "St Thomas' Hospital", 1, "RJ1", "South London"),
    (2, "RJ121", "Guy's Hospital", 1, "RJ1", "South London"),
    (
        3,
        "RJZ01",
        "King's College Hospital",
        2,
        "RJZ",
        "South London",
    ),
    (
        4,
        "RJZ30",
        "Princess Royal University Hospital",
        2,
        "RJZ",
        "South London",
    ),
    (
        5,
        "RYJ01",
        "St Mary's Hospital",
        3,
        "RYJ",
        "North West London",
    ),
    (
        6,
        "RYJ02",
        "Charing Cross Hospital",
        3,
        "RYJ",
        "North West London",
    ),
    (
        7,
        "RYJ03",
        "Hammersmith Hospital",
        3,
        "RYJ",
        "North West London",
    ),
    (
        8,
        "RQM01",
        "Chelsea and Westminster Hospital",
        4,
        "RQM",
        "North West London",
    ),
    (
        9,
        "RRV03",
        "University College Hospital",
        5,
        "RRV",
        "North Central and East London",
    ),
    (
        10,
        "R1H12",
        "The Royal London Hospital",
        6,
        "R1H",
        "North Central and East London",
    ),
    (
        11,
        "R1HKH",
        "Whipps Cross University Hospital",
        6,
        "R1H",
        "North Central and East London",
    ),
    (
        12,
        "RAL01",
        "Royal Free Hospital",
        7,
        "RAL",
        "North Central and East London",
    ),
    (
        13,
        "RRK15",
        "Queen Elizabeth Hospital Birmingham",
        8,
        "RRK",
        "West Midlands",
    ),
    (
        14,
        "RRK97",
        "Heartlands Hospital",
        8,
        "RRK",
        "West Midlands",
    ),
    (
        15,
        "R0A02",
        "Manchester Royal Infirmary",
        9,
        "R0A",
        "North West",
    ),
    (16, "R0A07", "Wythenshawe Hospital", 9, "R0A", "North West"),
    (
        17,
        "REM21",
        "Royal Liverpool University Hospital",
        10,
        "REM",
        "North West",
    ),
    (
        18,
        "RTH08",
        "John Radcliffe Hospital",
        11,
        "RTH",
        "Thames Valley",
    ),
    (
        19,
        "RTH05",
        "Churchill Hospital",
        11,
        "RTH",
        "Thames Valley",
    ),
    (
        20,
        "RGT01",
        "Addenbrooke's Hospital",
        12,
        "RGT",
        "East of England",
    ),
    (
        21,
        "RHM01",
        "Southampton General Hospital",
        13,
        "RHM",
        "Wessex",
    ),
    (22, "RTD01", "Freeman Hospital", 14, "RTD", "North East"),
    (
        23,
        "RTD02",
        "Royal Victoria Infirmary",
        14,
        "RTD",
        "North East",
    ),
    (
        24,
        "RR801",
        "Leeds General Infirmary",
        15,
        "RR8",
        "Yorkshire and the Humber",
    ),
    (
        25,
        "RR813",
        "St James's University Hospital",
        15,
        "RR8",
        "Yorkshire and the Humber",
    ),
    (
        26,
        "RHQNG",
        "Northern General Hospital",
        16,
        "RHQ",
        "Yorkshire and the Humber",
    ),
    (
        27,
        "RHQHH",
        "Royal Hallamshire Hospital",
        16,
        "RHQ",
        "Yorkshire and the Humber",
    ),
    (
        28,
        "RX1RA",
        "Queen's Medical Centre",
        17,
        "RX1",
        "East Midlands",
    ),
    (
        29,
        "RWEAA",
        "Leicester Royal Infirmary",
        18,
        "RWE",
        "East Midlands",
    ),
    (
        30,
        "RA701",
        "Bristol Royal Infirmary",
        19,
        "RA7",
        "South West",
    ),
    (31, "RK950", "Derriford Hospital", 20, "RK9", "South West"),
    (
        32,
        "RYR16",
        "Royal Sussex County Hospital",
        21,
        "RYR",
        "Kent, Surrey and Sussex",
    ),
    (
        33,
        "RPA02",
        "Medway Maritime Hospital",
        22,
        "RPA",
        "Kent, Surrey and Sussex",
    ),
];

/// Reference's demo grades posts use: (id, abbreviation, name).
const GRADES: &[(i64, &str, &str)] = &[
    (1, "F1", "Foundation Year 1"),
    (2, "F2", "Foundation Year 2"),
    (3, "CT1", "Core Training Year 1"),
    (4, "CT2", "Core Training Year 2"),
    (6, "ST1", "Specialty Training Year 1"),
    (7, "ST2", "Specialty Training Year 2"),
    (8, "ST3", "Specialty Training Year 3"),
    (18, "DF1", "Dental Foundation Year 1"),
];

/// How many posts `people` trainees get.
pub fn count(people: usize) -> usize {
    (people / 4).max(OFFICES.len())
}

/// Writes `count` posts over `programmes` ((id, office index, specialty index), the
/// catalogue's); returns the rows written.
pub async fn generate(
    tx: &mut Tx,
    programmes: &[(i64, usize, usize)],
    count: usize,
    today: Date,
    progress: super::Progress<'_>,
) -> Result<usize, StoreError> {
    let mut post = Table::new(
        "post (id, national_post_number, status, owner, post_family, employing_body_id, training_body_id, training_description, local_post_number, bypass_npn_generation)",
        10,
    );
    let mut site = Table::new("post_site (post_id, site_id, post_site_type)", 3);
    let mut grade = Table::new("post_grade (post_id, grade_id, post_grade_type)", 3);
    let mut specialty = Table::new(
        "post_specialty (post_id, specialty_id, post_specialty_type)",
        3,
    );
    let mut programme = Table::new("post_programme (post_id, programme_id)", 2);
    let mut funding = Table::new(
        "post_funding (post_id, funding_type, info, start_date, end_date)",
        5,
    );
    let mut trust = Table::new("post_trust (post_id, trust_id, trust_code)", 3);
    let mut view = Table::new(
        "post_view (id, national_post_number, status, owner, primary_site_id, primary_site_code, primary_site_name, primary_site_known_as, approved_grade_id, approved_grade_code, approved_grade_name, primary_specialty_id, primary_specialty_code, primary_specialty_name, programme_names, funding_type, search_text)",
        17,
    );
    let mut counters: HashMap<String, u32> = HashMap::new();
    let start = Date::from_calendar_date(today.year() - 6, time::Month::August, 1).unwrap_or(today);
    let mut written = 0;
    for i in 0..count {
        let id = i as i64 + 1;
        let o = i % OFFICES.len();
        let office = &OFFICES[o];
        let round = i / OFFICES.len();
        let sites: Vec<_> = SITES.iter().filter(|s| s.5 == office.owner).collect();
        let mine: Vec<_> = programmes.iter().filter(|p| p.1 == o).collect();
        let (Some(&&(sid, scode, sname, tid, tcode, _)), Some(&&(pid, _, s))) = (
            sites.get(round % sites.len().max(1)),
            mine.get((round / sites.len().max(1)) % mine.len().max(1)),
        ) else {
            continue;
        };
        let grades: &[usize] = match s {
            FOUNDATION => &[0, 1],
            DENTAL => &[7],
            _ => &[2, 3, 4, 5, 6],
        };
        let (gid, gcode, gname) = GRADES[grades[round % grades.len()]];
        let (sp_name, sp_code, ..) = SPECIALTIES[s];
        let lo = npn::abbreviation(office.owner).unwrap_or("LDN");
        let prefix = npn::prefix(lo, scode, sp_code, gcode);
        let n = counters.entry(prefix.clone()).or_insert(0);
        *n += 1;
        let number = format!("{prefix}/{n:03}");
        let (programme_name, _) = super::super::catalogue::programme(office, s);
        post.push(vec![
            Value::Int(id),
            Value::Text(number.clone()),
            Value::Text("CURRENT".into()),
            Value::Text(office.owner.into()),
            Value::Text("Medical".into()),
            Value::Int(tid),
            Value::Int(tid),
            Value::Text(format!("{sp_name} {gcode}")),
            Value::Text(format!("{}-{id}", office.short)),
            Value::Bool(false),
        ]);
        site.push(vec![
            Value::Int(id),
            Value::Int(sid),
            Value::Text("PRIMARY".into()),
        ]);
        grade.push(vec![
            Value::Int(id),
            Value::Int(gid),
            Value::Text("APPROVED".into()),
        ]);
        specialty.push(vec![
            Value::Int(id),
            Value::Int(s as i64 + 1),
            Value::Text("PRIMARY".into()),
        ]);
        programme.push(vec![Value::Int(id), Value::Int(pid)]);
        funding.push(vec![
            Value::Int(id),
            Value::Text("TARIFF".into()),
            Value::Text("Tariff".into()),
            Value::Date(start),
            Value::NullOf(tis_store::SqlType::Date),
        ]);
        trust.push(vec![
            Value::Int(id),
            Value::Int(tid),
            Value::Text(tcode.into()),
        ]);
        let search = format!("{number} {scode} {sname} {sp_name} {programme_name}").to_lowercase();
        view.push(vec![
            Value::Int(id),
            Value::Text(number),
            Value::Text("CURRENT".into()),
            Value::Text(office.owner.into()),
            Value::Int(sid),
            Value::Text(scode.into()),
            Value::Text(sname.into()),
            Value::Text(sname.into()),
            Value::Int(gid),
            Value::Text(gcode.into()),
            Value::Text(gname.into()),
            Value::Int(s as i64 + 1),
            Value::Text(sp_code.into()),
            Value::Text(sp_name.into()),
            Value::Text(programme_name),
            Value::Text("TARIFF".into()),
            Value::Text(search),
        ]);
        if post.rows.len() >= 2_000 || i + 1 == count {
            written += post.rows.len() * 8;
            for t in [
                &mut post,
                &mut site,
                &mut grade,
                &mut specialty,
                &mut programme,
                &mut funding,
                &mut trust,
                &mut view,
            ] {
                t.flush(tx).await?;
            }
            progress("posts", i + 1, count);
        }
    }
    if tx.backend() == tis_store::Backend::Postgres {
        tx.execute(tis_store::Sql::new(
            "SELECT setval(pg_get_serial_sequence('post', 'id'), GREATEST((SELECT MAX(id) FROM post), 1))",
        ))
        .await?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_office_has_sites_and_every_demo_number_is_well_formed() {
        for office in OFFICES {
            assert!(
                SITES.iter().any(|s| s.5 == office.owner),
                "{}",
                office.owner
            );
            assert!(
                npn::abbreviation(office.owner).is_some(),
                "{}",
                office.owner
            );
        }
        for (_, code, ..) in SPECIALTIES {
            for (_, site, ..) in SITES {
                for (_, grade, _) in GRADES {
                    let number = format!("{}/001", npn::prefix("LDN", site, code, grade));
                    assert_eq!(npn::check(&number), Ok(()), "{number}");
                }
            }
        }
        assert_eq!(count(200_000), 50_000);
    }
}
