//! Request bodies that can be sent again.
//!
//! A retry must send the same bytes as the first try, but a request body is a stream that can
//! be read once. So, before the first try of a request that *may* be retried, its body is read
//! into memory, up to [`crate::MeshConfig::retry_body_limit`]. A body that fits becomes
//! [`MeshBody`]'s replayable form (one `Bytes`, cloned per try for free). A body that does not
//! fit, or that carries trailers, is sent as a stream — the part already read first, then the
//! rest — and the request is never retried: replaying half a body would be worse than failing.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

use crate::error::BoxError;
use crate::outbound::Outbound;

/// The body of every request inside the stack.
///
/// It also carries the call's `Outbound` state (deadline, retryability, retries, endpoint
/// to avoid) that every layer reads: the body is the one part of the request that each layer
/// sees and a retry's copy takes along anyway, so the state costs no extensions map and no
/// box per call and per copy (`http::Extensions` allocates both).
#[derive(Debug)]
pub struct MeshBody {
    kind: Kind,
    out: Option<Outbound>,
}

#[derive(Debug)]
enum Kind {
    /// All of it, in memory: can be cloned for a retry.
    Full(Option<Bytes>),
    /// Frames already read, then the rest of the caller's stream.
    Streaming {
        prefix: VecDeque<Frame<Bytes>>,
        rest: UnsyncBoxBody<Bytes, BoxError>,
    },
}

impl MeshBody {
    pub fn empty() -> Self {
        MeshBody {
            kind: Kind::Full(None),
            out: None,
        }
    }

    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        MeshBody {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
            out: None,
        }
    }

    /// A body sent as it comes, never retried.
    pub fn streaming<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        MeshBody {
            kind: Kind::Streaming {
                prefix: VecDeque::new(),
                rest: body.map_err(Into::into).boxed_unsync(),
            },
            out: None,
        }
    }

    /// Whether the body can be sent again.
    pub fn is_replayable(&self) -> bool {
        matches!(self.kind, Kind::Full(_))
    }

    /// The call's state, once `ServiceClient::call` has set it.
    pub(crate) fn outbound(&self) -> Option<&Outbound> {
        self.out.as_ref()
    }

    pub(crate) fn set_outbound(&mut self, out: Outbound) {
        self.out = Some(out);
    }

    /// A copy for another try (the call's state with it), if the body is replayable.
    pub fn try_clone(&self) -> Option<Self> {
        match &self.kind {
            Kind::Full(b) => Some(MeshBody {
                kind: Kind::Full(b.clone()),
                out: self.out.clone(),
            }),
            Kind::Streaming { .. } => None,
        }
    }
}

impl Body for MeshBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Streaming { prefix, rest } => match prefix.pop_front() {
                Some(frame) => Poll::Ready(Some(Ok(frame))),
                None => Pin::new(rest).poll_frame(cx),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_none(),
            Kind::Streaming { prefix, rest } => prefix.is_empty() && rest.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Streaming { prefix, rest } => {
                let buffered: u64 = prefix
                    .iter()
                    .filter_map(|f| f.data_ref().map(|d| d.len() as u64))
                    .sum();
                let mut hint = SizeHint::new();
                hint.set_lower(rest.size_hint().lower() + buffered);
                if let Some(upper) = rest.size_hint().upper() {
                    hint.set_upper(upper + buffered);
                }
                hint
            }
        }
    }
}

/// Reads `body` into memory if it fits in `limit` bytes (replayable), or returns it as a
/// stream with what was read put back in front (not replayable).
pub(crate) async fn buffer<B>(body: B, limit: usize) -> Result<MeshBody, BoxError>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    if body.is_end_stream() {
        return Ok(MeshBody::empty());
    }
    if body.size_hint().lower() > limit as u64 {
        return Ok(MeshBody::streaming(body));
    }
    let mut body = body.map_err(Into::into).boxed_unsync();
    let mut frames: VecDeque<Frame<Bytes>> = VecDeque::new();
    let mut len = 0usize;
    loop {
        match body.frame().await {
            None => break,
            Some(Err(e)) => return Err(e),
            Some(Ok(frame)) => {
                let stop = match frame.data_ref() {
                    Some(data) => {
                        len += data.len();
                        len > limit
                    }
                    None => true, // trailers: not worth replaying
                };
                frames.push_back(frame);
                if stop {
                    return Ok(MeshBody {
                        kind: Kind::Streaming {
                            prefix: frames,
                            rest: body,
                        },
                        out: None,
                    });
                }
            }
        }
    }
    let mut all = bytes::BytesMut::with_capacity(len);
    for frame in frames {
        if let Ok(data) = frame.into_data() {
            all.extend_from_slice(&data);
        }
    }
    Ok(MeshBody::full(all.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    async fn read_all(body: MeshBody) -> Bytes {
        body.collect().await.expect("body").to_bytes()
    }

    #[tokio::test]
    async fn a_small_body_is_buffered_and_replays_identically() {
        let body = buffer(Full::new(Bytes::from_static(b"hello")), 16)
            .await
            .expect("buffer");
        assert!(body.is_replayable());
        let copy = body.try_clone().expect("replayable");
        assert_eq!(read_all(body).await, "hello");
        assert_eq!(read_all(copy).await, "hello");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_streamed_whole_and_not_replayable() {
        let chunks: Vec<Result<Frame<Bytes>, std::io::Error>> = (0..4)
            .map(|i| Ok(Frame::data(Bytes::from(format!("chunk{i};")))))
            .collect();
        let stream = StreamBody::new(futures::stream::iter(chunks));
        let body = buffer(stream, 10).await.expect("buffer");
        assert!(!body.is_replayable());
        assert!(body.try_clone().is_none());
        assert_eq!(read_all(body).await, "chunk0;chunk1;chunk2;chunk3;");
    }

    #[tokio::test]
    async fn a_body_known_to_be_too_large_is_not_read_at_all() {
        let body = buffer(Full::new(Bytes::from(vec![7u8; 100])), 10)
            .await
            .expect("buffer");
        assert!(!body.is_replayable());
        assert_eq!(read_all(body).await.len(), 100);
    }
}
