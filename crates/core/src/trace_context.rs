//! W3C Trace Context (`traceparent`), version 00.
//!
//! `traceparent: 00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`. An incoming
//! header that does not parse is ignored and a new trace is started, as the specification asks;
//! an all-zero trace or span id is invalid.

use std::fmt;

use bytes::Bytes;
use http::HeaderValue;

/// The trace this request belongs to, and the span that stands for this hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: u128,
    /// This hop's span id: the parent id of every call it makes.
    pub span_id: u64,
    /// The caller's span id, when the request carried a valid `traceparent`.
    pub parent_id: Option<u64>,
    pub flags: u8,
}

pub const HEADER: &str = "traceparent";

impl TraceContext {
    /// A new trace, for a request that arrived without (valid) trace context. It is marked
    /// sampled (flag `01`) when the trace exporter's ratio picks it
    /// ([`crate::telemetry::traces::root_sampled`]; every trace when tracing is off here).
    pub fn new_root() -> Self {
        let trace_id = nonzero_u128();
        TraceContext {
            trace_id,
            span_id: nonzero_u64(),
            parent_id: None,
            flags: u8::from(crate::telemetry::traces::root_sampled(trace_id)),
        }
    }

    /// Continues the caller's trace with a new span for this hop, or starts a new trace when
    /// the header is absent or malformed.
    pub fn continue_from(header: Option<&str>) -> Self {
        match header.and_then(parse) {
            Some((trace_id, parent, flags)) => TraceContext {
                trace_id,
                span_id: nonzero_u64(),
                parent_id: Some(parent),
                flags,
            },
            None => Self::new_root(),
        }
    }

    /// The `traceparent` value for calls made on behalf of this hop.
    pub fn header_value(&self) -> String {
        self.header_bytes().iter().map(|&b| char::from(b)).collect()
    }

    /// [`TraceContext::header_value`] as a header, in one allocation and without `format!`
    /// (every outbound call of every request sends one).
    pub fn to_header(&self) -> HeaderValue {
        // Hex digits and dashes are always a valid value; the fallback is never taken.
        HeaderValue::from_maybe_shared(Bytes::from_owner(self.header_bytes()))
            .unwrap_or_else(|_| HeaderValue::from_static("-"))
    }

    /// `00-<trace id>-<span id>-<flags>`, 55 bytes.
    fn header_bytes(&self) -> [u8; 55] {
        let mut out = [b'-'; 55];
        out[..2].copy_from_slice(b"00");
        out[3..35].copy_from_slice(&lower_hex::<32>(self.trace_id));
        out[36..52].copy_from_slice(&lower_hex::<16>(u128::from(self.span_id)));
        out[53..].copy_from_slice(&lower_hex::<2>(u128::from(self.flags)));
        out
    }

    pub fn trace_id_hex(&self) -> String {
        self.trace_id_text().to_string()
    }

    pub fn span_id_hex(&self) -> String {
        self.span_id_text().to_string()
    }

    /// The trace id as 32 hex digits, for a log field: formatted where it is written, with no
    /// `String` in between.
    pub fn trace_id_text(&self) -> HexText<32> {
        HexText(lower_hex(self.trace_id))
    }

    /// The span id as 16 hex digits, like [`TraceContext::trace_id_text`].
    pub fn span_id_text(&self) -> HexText<16> {
        HexText(lower_hex(u128::from(self.span_id)))
    }
}

impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.header_bytes()).map_err(|_| fmt::Error)?)
    }
}

/// Lowercase hex digits, on the stack (see [`TraceContext::trace_id_text`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HexText<const N: usize>([u8; N]);

impl<const N: usize> fmt::Display for HexText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.0).map_err(|_| fmt::Error)?)
    }
}

/// The low `N` nibbles of `value` as `N` lowercase hex digits, zero-padded (`{:0N$x}`, by
/// hand: `format!` costs several times more, and these are written on every request).
pub(crate) fn lower_hex<const N: usize>(value: u128) -> [u8; N] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'0'; N];
    for (i, digit) in out.iter_mut().rev().enumerate().take(32) {
        *digit = HEX[((value >> (i * 4)) & 0xf) as usize];
    }
    out
}

/// Parses a `traceparent` value into (trace id, parent span id, flags).
pub fn parse(value: &str) -> Option<(u128, u64, u8)> {
    let value = value.trim();
    let mut parts = value.split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let parent = parts.next()?;
    let flags = parts.next()?;
    if version.len() != 2 || trace.len() != 32 || parent.len() != 16 || flags.len() != 2 {
        return None;
    }
    let version = u8::from_str_radix(version, 16).ok()?;
    // Version ff is forbidden; version 00 has exactly four parts. Later versions may append
    // fields, which we ignore.
    if version == 0xff || (version == 0 && parts.next().is_some()) {
        return None;
    }
    if !is_lower_hex(trace) || !is_lower_hex(parent) || !is_lower_hex(flags) {
        return None;
    }
    let trace_id = u128::from_str_radix(trace, 16).ok()?;
    let parent_id = u64::from_str_radix(parent, 16).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    if trace_id == 0 || parent_id == 0 {
        return None;
    }
    Some((trace_id, parent_id, flags))
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn nonzero_u128() -> u128 {
    loop {
        let v = fastrand::u128(..);
        if v != 0 {
            return v;
        }
    }
}

fn nonzero_u64() -> u64 {
    loop {
        let v = fastrand::u64(..);
        if v != 0 {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_valid_header_is_continued_with_a_new_span() {
        let h = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = TraceContext::continue_from(Some(h));
        assert_eq!(ctx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ctx.parent_id, Some(0x00f067aa0ba902b7));
        assert_ne!(ctx.span_id, 0x00f067aa0ba902b7);
        assert!(
            ctx.header_value()
                .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")
        );
        assert!(ctx.header_value().ends_with("-01"));
    }

    #[test]
    fn the_hand_written_hex_is_what_format_writes() {
        for (t, s, f) in [
            (1u128, 1u64, 0u8),
            (u128::MAX, u64::MAX, 0xff),
            (0x4bf92f3577b34da6a3ce929d0e0e4736, 0x00f067aa0ba902b7, 1),
        ] {
            let ctx = TraceContext {
                trace_id: t,
                span_id: s,
                parent_id: None,
                flags: f,
            };
            let want = format!("00-{t:032x}-{s:016x}-{f:02x}");
            assert_eq!(ctx.header_value(), want);
            assert_eq!(ctx.to_header(), want.as_str());
            assert_eq!(ctx.to_string(), want);
            assert_eq!(ctx.trace_id_hex(), format!("{t:032x}"));
            assert_eq!(ctx.span_id_hex(), format!("{s:016x}"));
        }
    }

    #[test]
    fn malformed_headers_start_a_new_trace() {
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
            assert_eq!(TraceContext::continue_from(Some(bad)).parent_id, None);
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,300}") {
            let _ = parse(&s);
        }

        #[test]
        fn formatting_round_trips(t in 1u128.., s in 1u64.., f in any::<u8>()) {
            let ctx = TraceContext { trace_id: t, span_id: s, parent_id: None, flags: f };
            prop_assert_eq!(parse(&ctx.header_value()), Some((t, s, f)));
        }
    }
}
