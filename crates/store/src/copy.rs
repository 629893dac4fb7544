//! Bulk loads: rows into one table in as few round trips as the backend allows. On
//! PostgreSQL `COPY … FROM STDIN` (text format: one statement for any number of rows, no
//! parameter limit, the cheapest path into a table); on SQLite (and inside an idempotent
//! request's transaction, whose connection is shared) multi-row `INSERT`s of [`ROWS`] rows.
//!
//! The values are those a statement binds ([`Value`]); a row written either way reads back
//! the same.

use crate::sql::Value;

/// Rows per multi-row `INSERT` where `COPY` is not used.
pub const ROWS: usize = 250;

/// Appends `rows` to `out` in `COPY`'s text format: columns separated by tabs, rows ended by
/// newlines, NULL as `\N`, backslash, tab, newline and carriage return escaped.
pub(crate) fn encode(rows: &[Vec<Value>], out: &mut Vec<u8>) {
    use std::io::Write as _;
    for row in rows {
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            // Writing to a Vec cannot fail.
            let _ = match value {
                Value::Null | Value::NullOf(_) => out.write_all(b"\\N"),
                Value::Bool(b) => out.write_all(if *b { b"t" } else { b"f" }),
                Value::Int(n) => write!(out, "{n}"),
                Value::Float(f) if f.is_nan() => out.write_all(b"NaN"),
                Value::Float(f) if f.is_infinite() => {
                    out.write_all(if *f > 0.0 { b"Infinity" } else { b"-Infinity" })
                }
                // Rust prints the shortest text that parses back to the same double.
                Value::Float(f) => write!(out, "{f}"),
                Value::Text(s) => {
                    escape(s, out);
                    Ok(())
                }
                Value::Date(d) => write!(out, "{d}"),
                Value::Timestamp(t) => {
                    // Whole microseconds, truncated, as a bound value is stored.
                    let t = t
                        .replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
                        .unwrap_or(*t);
                    out.write_all(crate::exec::rfc3339(t).as_bytes())
                }
                Value::Uuid(u) => write!(out, "{u}"),
                Value::Json(j) => {
                    escape(&j.to_string(), out);
                    Ok(())
                }
            };
        }
        out.push(b'\n');
    }
}

fn escape(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_in_copy_text_format_with_specials_escaped() {
        let t = time::macros::datetime!(2026-12-07 18:15:01.123456789 UTC);
        let rows = vec![
            vec![
                Value::Int(-7),
                Value::Text("a\tb\\c\nd\re".into()),
                Value::NullOf(crate::SqlType::Date),
                Value::Bool(true),
                Value::Float(0.8),
            ],
            vec![
                Value::Date(time::macros::date!(2024 - 08 - 01)),
                Value::Timestamp(t),
                Value::Uuid(uuid::Uuid::from_u128(1)),
                Value::Float(f64::NEG_INFINITY),
                Value::Json(serde_json::json!({"k": "x\ty"})),
            ],
        ];
        let mut out = Vec::new();
        encode(&rows, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "-7\ta\\tb\\\\c\\nd\\re\t\\N\tt\t0.8\n\
             2024-08-01\t2026-12-07T18:15:01.123456Z\t00000000-0000-0000-0000-000000000001\t-Infinity\t{\"k\":\"x\\\\ty\"}\n"
        );
    }
}
