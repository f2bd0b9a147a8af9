//! `make run`'s HTTP server for the admin API (in AWS, API Gateway is in front). It adds one
//! guard the HTTP library cannot give: a request line too long to parse gets the API's JSON
//! error instead of hyper's bare 414 with an empty body. Only the first request of a
//! connection is measured; later ones on a kept-alive connection meet hyper's own limit.

use axum::Router;
use snapshot_admin::error::ApiError;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Longest request line served (hyper's own limit is about 64 KiB).
pub const MAX_REQUEST_LINE: usize = 16 * 1024;

/// Serves `router` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, router: Router) -> io::Result<()> {
    axum::serve(GuardedListener(listener), router).await
}

struct GuardedListener(TcpListener);

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (GuardedStream { inner: stream, line: 0, measured: false, refused: false }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection whose first request line is measured as hyper reads it.
pub struct GuardedStream {
    inner: TcpStream,
    /// Bytes of the request line read so far.
    line: usize,
    measured: bool,
    refused: bool,
}

impl GuardedStream {
    /// Answers 414 in the API's shape and ends the connection.
    fn refuse(&mut self) {
        let body = ApiError::UriTooLong(MAX_REQUEST_LINE).body().to_string();
        let response = format!(
            "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        // The answer is small: it fits the socket's send buffer, so a non-blocking write is enough.
        let _ = self.inner.try_write(response.as_bytes());
        self.refused = true;
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.refused {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if !self.measured {
            let new = &buf.filled()[before..];
            match new.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    self.measured = true;
                    if self.line + end > MAX_REQUEST_LINE {
                        buf.set_filled(before);
                        self.refuse();
                    }
                }
                None => {
                    self.line += new.len();
                    if self.line > MAX_REQUEST_LINE {
                        buf.set_filled(before);
                        self.refuse();
                    }
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
