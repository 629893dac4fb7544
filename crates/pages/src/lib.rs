//! Gives back the executable's pages that only start-up touched.
//!
//! Most of an idle instance's resident memory is the `tis` executable itself: configuration,
//! clap, TLS set-up, migrations and the registration of hundreds of routes run once, and the
//! kernel maps each touched page's whole neighbourhood (fault-around), so about 60 % of the
//! text stays mapped though far less of it ever runs again (`docs/benchmarks.md`, "Idle
//! memory of the instances"). Once an instance is ready, [`release_executable_pages`] asks the
//! kernel (`madvise(MADV_DONTNEED)`) to drop this process's mappings of those pages; the next
//! touch of one maps it again from the page cache (a minor fault), so only the code that
//! serving runs comes back.
//!
//! What is released, and why it is lossless: only mappings of the executable's own file that
//! are not writable and hold no anonymous (copy-on-write) page, as `/proc/self/smaps` reports
//! them. Such a page is the file's content as the page cache holds it, so dropping the mapping
//! loses nothing. The RELRO part (written by the dynamic loader's relocations, then made
//! read-only) holds anonymous pages and is left alone, as are data, heap and stacks. A mapping
//! that is not writable cannot become written between the reading of `smaps` and the call.
//!
//! What it does not do: the page cache keeps the pages (other processes of the same binary
//! still map them), so the machine's memory is not freed, only this process's RSS and PSS
//! fall, and the kernel may reclaim the pages under pressure since fewer processes map them.

use std::io;
use std::ops::Range;
use std::path::Path;

/// What [`release_executable_pages`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    /// Mappings released.
    pub mappings: usize,
    /// Resident bytes they held (smaps' `Rss`) just before.
    pub resident: u64,
    /// Mappings of the executable left alone: writable, or holding copied pages (RELRO).
    pub kept: usize,
}

/// One mapping of `/proc/PID/smaps`, as far as the choice needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mapping {
    range: Range<usize>,
    perms: String,
    path: String,
    rss_kib: u64,
    anonymous_kib: u64,
}

/// The mappings of an `smaps` text, in order. Lines that are neither a mapping's header nor a
/// `Key: N kB` field are ignored (e.g. `VmFlags`).
fn parse_smaps(text: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        if let Some(m) = header(line) {
            out.push(m);
            continue;
        }
        let Some(last) = out.last_mut() else { continue };
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kib = rest
            .trim()
            .strip_suffix("kB")
            .and_then(|n| n.trim().parse::<u64>().ok());
        match (key, kib) {
            ("Rss", Some(n)) => last.rss_kib = n,
            ("Anonymous", Some(n)) => last.anonymous_kib = n,
            _ => {}
        }
    }
    out
}

/// `start-end perms offset dev inode [path]`.
fn header(line: &str) -> Option<Mapping> {
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let range = usize::from_str_radix(start, 16).ok()?..usize::from_str_radix(end, 16).ok()?;
    let perms = fields.next()?;
    if perms.len() != 4 {
        return None;
    }
    let (_offset, _dev, _inode) = (fields.next()?, fields.next()?, fields.next()?);
    let path = fields.next().unwrap_or("").trim().to_owned();
    Some(Mapping {
        range,
        perms: perms.to_owned(),
        path,
        rss_kib: 0,
        anonymous_kib: 0,
    })
}

/// The mappings of `exe` that may be released, and how many of its mappings are kept.
fn releasable<'a>(mappings: &'a [Mapping], exe: &str) -> (Vec<&'a Mapping>, usize) {
    let mut kept = 0;
    let mut out = Vec::new();
    for m in mappings.iter().filter(|m| m.path == exe) {
        let writable = m.perms.as_bytes().get(1) == Some(&b'w');
        if writable || m.anonymous_kib > 0 {
            kept += 1;
        } else if m.rss_kib > 0 && !m.range.is_empty() {
            out.push(m);
        }
    }
    (out, kept)
}

/// Drops this process's mappings of the executable's read-only, never-written pages (see the
/// crate's documentation). Linux only; elsewhere it does nothing.
pub fn release_executable_pages() -> io::Result<Released> {
    if !cfg!(target_os = "linux") {
        return Ok(Released::default());
    }
    let exe = std::fs::read_link("/proc/self/exe")?;
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    release_in(&smaps, &exe)
}

fn release_in(smaps: &str, exe: &Path) -> io::Result<Released> {
    let exe = exe.to_string_lossy();
    let mappings = parse_smaps(smaps);
    let (chosen, kept) = releasable(&mappings, &exe);
    let mut done = Released {
        kept,
        ..Released::default()
    };
    for m in chosen {
        dont_need(&m.range)?;
        done.mappings += 1;
        done.resident += m.rss_kib * 1024;
    }
    Ok(done)
}

/// `madvise(MADV_DONTNEED)` over a whole mapping that [`releasable`] chose.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn dont_need(range: &Range<usize>) -> io::Result<()> {
    // SAFETY: `range` is one whole mapping of this process's executable, page-aligned as the
    // kernel reported it, neither writable nor holding a copied (anonymous) page: every
    // resident page is the file's page-cache content, and the next access maps it again.
    // No Rust object lives there that could be invalidated; code and read-only statics read
    // the same bytes after the fault as before.
    let rc = unsafe {
        libc::madvise(
            range.start as *mut libc::c_void,
            range.end - range.start,
            libc::MADV_DONTNEED,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn dont_need(_: &Range<usize>) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXE: &str = "/opt/tis/bin/tis";

    /// An executable's mappings as a PIE built by rustc shows them: read-only data, text,
    /// the RELRO part (relocated, then read-only), data; then the heap and libc.
    fn sample() -> String {
        format!(
            "\
5600a0000000-5600a0900000 r--p 00000000 fd:01 42 {EXE}
Rss:                3400 kB
Anonymous:             0 kB
VmFlags: rd mr mw me dw sd
5600a0900000-5600a2a00000 r-xp 00900000 fd:01 42 {EXE}
Rss:               20500 kB
Anonymous:             0 kB
5600a2a00000-5600a2ae0000 r--p 02a00000 fd:01 42 {EXE}
Rss:                 896 kB
Anonymous:           896 kB
5600a2ae0000-5600a2af0000 rw-p 02ae0000 fd:01 42 {EXE}
Rss:                  64 kB
Anonymous:            64 kB
5600a2af0000-5600a2b00000 r--p 02af0000 fd:01 42 {EXE}
Rss:                   0 kB
Anonymous:             0 kB
5600a4000000-5600a4100000 rw-p 00000000 00:00 0 [heap]
Rss:                1024 kB
Anonymous:          1024 kB
7f0000000000-7f0000100000 r-xp 00028000 fd:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 900 kB
Anonymous:             0 kB
7f0000200000-7f0000201000 r--p 00000000 fd:01 9 /tmp/a name with spaces
Rss:                   4 kB
Anonymous:             0 kB
"
        )
    }

    #[test]
    fn only_the_executables_read_only_never_written_mappings_are_chosen() {
        let maps = parse_smaps(&sample());
        assert_eq!(maps.len(), 8);
        assert_eq!(maps[7].path, "/tmp/a name with spaces");
        let (chosen, kept) = releasable(&maps, EXE);
        let ranges: Vec<_> = chosen.iter().map(|m| m.range.clone()).collect();
        assert_eq!(
            ranges,
            [
                0x5600a0000000..0x5600a0900000,
                0x5600a0900000..0x5600a2a00000
            ],
            "read-only data and text; not RELRO (copied pages), data, an empty mapping, the heap or libc"
        );
        assert_eq!(kept, 2, "RELRO and the data segment are kept");
        assert_eq!(chosen.iter().map(|m| m.rss_kib).sum::<u64>(), 23_900);
    }

    #[test]
    fn a_mapping_with_a_copied_page_is_kept_even_when_read_only() {
        let text = sample().replacen(
            "Rss:               20500 kB\nAnonymous:             0 kB",
            "Rss:               20500 kB\nAnonymous:             4 kB",
            1,
        );
        let maps = parse_smaps(&text);
        let (chosen, kept) = releasable(&maps, EXE);
        assert_eq!(
            chosen.len(),
            1,
            "text with a written page (a breakpoint) stays"
        );
        assert_eq!(kept, 3);
    }

    #[test]
    fn another_files_mappings_are_never_chosen() {
        let maps = parse_smaps(&sample());
        let (chosen, kept) = releasable(&maps, "/usr/bin/other");
        assert!(chosen.is_empty());
        assert_eq!(kept, 0);
    }

    fn rss_file_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssFile:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("RssFile")
    }

    #[inline(never)]
    fn still_runs(n: u64) -> u64 {
        (1..=n).map(|i| i * i).sum()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn releasing_drops_this_processs_file_pages_and_the_code_still_runs() {
        let before = rss_file_kib();
        let released = release_executable_pages().expect("release");
        let after = rss_file_kib();
        assert!(released.mappings >= 2, "{released:?}");
        assert!(released.resident > 0, "{released:?}");
        assert!(
            after < before,
            "RssFile {before} kB before, {after} kB after: {released:?}"
        );
        // The code and read-only data come back on the next touch.
        assert_eq!(still_runs(10), 385);
        assert_eq!(
            format!("{:?}", Some("read-only data")),
            "Some(\"read-only data\")"
        );
        let again = release_executable_pages().expect("release again");
        assert!(again.mappings >= 2, "{again:?}");
    }
}
