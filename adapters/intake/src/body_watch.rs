//! Tells a request body that ended cleanly (`END_STREAM`) from one that was cut off: the client
//! reset the stream or the connection broke. tonic hides part of the difference (it reads a
//! client's `CANCEL` as a normal end of the request), so the body is watched below tonic.
//!
//! A reset with `NO_ERROR` still reads as a clean end: hyper treats it so before this sees it.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// How one request body ended, shared by the body and the call's reader.
#[derive(Clone, Debug, Default)]
pub(crate) struct BodyEnd(Arc<OnceLock<String>>);

impl BodyEnd {
    /// Why the body was cut off, if it was (the transport error, as text).
    pub fn cut_off(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// A request body that records a transport error in its [`BodyEnd`].
pub(crate) struct WatchedBody<B> {
    inner: B,
    end: BodyEnd,
}

impl<B> WatchedBody<B> {
    pub fn new(inner: B, end: BodyEnd) -> Self {
        WatchedBody { inner, end }
    }
}

impl<B> Body for WatchedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(error))) = &polled {
            let _ = self.end.0.set(error.to_string());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
