//! How a SQLite writer waits for another's lock: in short, even steps.
//!
//! Two instances of a service share one SQLite file, and a write transaction (`BEGIN
//! IMMEDIATE`) that finds the file's write lock taken waits in SQLite's busy handler. The
//! built-in one (`sqlite3_busy_timeout`, what sqlx's `busy_timeout` sets) sleeps 1, 2, 5, 10,
//! 15, 20, 25, 25, 25, 50, 50, 100 ms… between tries: a writer that arrives while another holds
//! the lock for 2 ms often sleeps 10–100 ms and comes back long after the lock was free.
//! Measured (`bench/sqlite-writers.py`, docs/benchmarks.md "The create's tail on SQLite"):
//! lock-wait p99 129 ms with the built-in handler against 30 ms retrying every 0.5 ms, which
//! is the create's p99 of 40–117 ms seen through the gateway.
//!
//! [`install`] replaces it on every connection with one that tries again every
//! [`STEP`] until the configured `busy_timeout` has passed (measured from the first try, on a
//! clock), then gives up (`SQLITE_BUSY`, a 503 `database_busy`… as before). A retry is one
//! attempt at a file lock: a few system calls.

use std::ffi::{c_int, c_void};
use std::time::{Duration, Instant};

use sqlx::SqliteConnection;

/// The pause between two tries for the lock.
pub const STEP: Duration = Duration::from_micros(500);

thread_local! {
    /// When the current wait began. sqlx runs each SQLite connection on a thread of its own,
    /// and SQLite calls the handler on the thread that waits, so this is per connection.
    static WAIT_STARTED: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// The decision of one call: `true` to try again after [`STEP`], `false` to give up.
/// `count` is SQLite's: 0 at the first call of a wait.
fn try_again(count: c_int, timeout: Duration, now: Instant) -> bool {
    let started = WAIT_STARTED.with(|s| {
        if count == 0 || s.get().is_none() {
            s.set(Some(now));
        }
        s.get().unwrap_or(now)
    });
    now.duration_since(started) + STEP <= timeout
}

/// SQLite's busy-handler callback; `arg` carries the timeout in microseconds.
extern "C" fn handler(arg: *mut c_void, count: c_int) -> c_int {
    let timeout = Duration::from_micros(arg as usize as u64);
    if try_again(count, timeout, Instant::now()) {
        std::thread::sleep(STEP);
        1
    } else {
        0
    }
}

/// Replaces the connection's busy handler (and the `busy_timeout` sqlx set) with one that
/// retries every [`STEP`] for `timeout`.
pub async fn install(conn: &mut SqliteConnection, timeout: Duration) -> Result<(), sqlx::Error> {
    let micros = usize::try_from(timeout.as_micros()).unwrap_or(usize::MAX);
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    set(db, micros);
    Ok(())
}

#[allow(unsafe_code)]
fn set(db: *mut libsqlite3_sys::sqlite3, timeout_micros: usize) {
    // SAFETY: `db` is the open connection whose lock this caller holds (sqlx's
    // `LockedSqliteHandle`), so nothing else uses it meanwhile. `handler` is a plain function
    // that touches no Rust state but its thread's own cell, and its argument is a number
    // carried in the pointer, never dereferenced: nothing it points to can dangle.
    unsafe {
        libsqlite3_sys::sqlite3_busy_handler(db, Some(handler), timeout_micros as *mut c_void);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_tries_again_until_its_timeout_has_passed_on_the_clock() {
        let t0 = Instant::now();
        let timeout = Duration::from_millis(5);
        assert!(try_again(0, timeout, t0));
        assert!(try_again(1, timeout, t0 + Duration::from_millis(2)));
        assert!(try_again(7, timeout, t0 + Duration::from_micros(4_500)));
        assert!(!try_again(8, timeout, t0 + Duration::from_micros(4_600)));
        // A new wait (count 0) starts its own clock.
        let t1 = t0 + Duration::from_secs(1);
        assert!(try_again(0, timeout, t1));
        assert!(!try_again(3, timeout, t1 + Duration::from_millis(6)));
        // No timeout: the first call gives up.
        assert!(!try_again(0, Duration::ZERO, t1));
    }
}
