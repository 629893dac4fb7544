//! Progress of a long command on a terminal: one line on stderr, rewritten in place, with the
//! step, how far it is, the rate and the time left. Nothing when stderr is not a terminal (CI,
//! pipes, files), so logs stay as they were.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the line is redrawn at most.
const EVERY: Duration = Duration::from_millis(200);

/// One progress line.
pub struct Meter {
    out: Option<Mutex<Shown>>,
}

struct Shown {
    to: Box<dyn Write + Send>,
    step: &'static str,
    started: Instant,
    drawn: Option<Instant>,
}

impl Meter {
    /// On stderr when it is a terminal, otherwise silent.
    pub fn stderr() -> Meter {
        if std::io::stderr().is_terminal() {
            Meter::to(Box::new(std::io::stderr()))
        } else {
            Meter { out: None }
        }
    }

    /// Always drawn, on `to`.
    pub fn to(to: Box<dyn Write + Send>) -> Meter {
        Meter {
            out: Some(Mutex::new(Shown {
                to,
                step: "",
                started: Instant::now(),
                drawn: None,
            })),
        }
    }

    /// `done` of `total` of `step`: redrawn when the step changes, when it is finished, and
    /// otherwise at most every 200 ms.
    pub fn update(&self, step: &'static str, done: usize, total: usize) {
        let Some(out) = &self.out else {
            return;
        };
        let mut s = out.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if s.step != step {
            if !s.step.is_empty() {
                let _ = writeln!(s.to);
            }
            s.step = step;
            s.started = now;
            s.drawn = None;
        }
        let due = s.drawn.is_none_or(|d| now - d >= EVERY) || done >= total;
        if !due {
            return;
        }
        s.drawn = Some(now);
        let line = line(step, done, total, now - s.started);
        let _ = write!(s.to, "\r\x1b[2K{line}");
        let _ = s.to.flush();
    }

    /// Ends the line (the summary that follows starts on a line of its own).
    pub fn finish(&self) {
        if let Some(out) = &self.out {
            let mut s = out.lock().unwrap_or_else(|p| p.into_inner());
            if !s.step.is_empty() {
                let _ = writeln!(s.to);
                let _ = s.to.flush();
                s.step = "";
            }
        }
    }
}

/// `people: 12,000/200,000 (6%), 4,210/s, 45s left`.
fn line(step: &str, done: usize, total: usize, took: Duration) -> String {
    let pct = done.saturating_mul(100).checked_div(total).unwrap_or(100);
    let rate = done as f64 / took.as_secs_f64().max(1e-3);
    let left = if done >= total {
        "done".to_owned()
    } else if done == 0 || rate <= 0.0 {
        "…".to_owned()
    } else {
        format!("{:.0}s left", (total - done) as f64 / rate)
    };
    format!(
        "{step}: {}/{} ({pct}%), {}/s, {left}",
        thousands(done),
        thousands(total),
        thousands(rate as usize)
    )
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_step_is_drawn_in_place_with_its_rate_and_time_left_and_ends_on_a_line() {
        let seen = Shared::default();
        let meter = Meter::to(Box::new(seen.clone()));
        meter.update("posts", 0, 50_000);
        meter.update("posts", 10, 50_000); // within 200 ms: not redrawn
        meter.update("posts", 50_000, 50_000); // finished: drawn
        meter.update("people", 2_000, 200_000);
        meter.finish();
        let text = String::from_utf8(seen.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.len(), 3, "{text:?}");
        assert!(
            lines[0].starts_with("\r\x1b[2Kposts: 0/50,000 (0%)"),
            "{text:?}"
        );
        assert!(!lines[0].contains("10/50,000"), "{text:?}");
        assert!(
            lines[0].contains("\r\x1b[2Kposts: 50,000/50,000 (100%), ")
                && lines[0].ends_with("/s, done"),
            "{text:?}"
        );
        assert!(
            lines[1].starts_with("\r\x1b[2Kpeople: 2,000/200,000 (1%), ")
                && lines[1].ends_with("s left"),
            "{text:?}"
        );
        assert_eq!(lines[2], "");
    }

    #[test]
    fn rates_and_numbers_read_as_people_write_them() {
        assert_eq!(
            line("placements", 250_000, 1_000_000, Duration::from_secs(10)),
            "placements: 250,000/1,000,000 (25%), 25,000/s, 30s left"
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(line("x", 0, 0, Duration::ZERO), "x: 0/0 (100%), 0/s, done");
    }
}
