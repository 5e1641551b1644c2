//! How long presswire waits for an SMTP relay: RFC 5321 §4.5.3.2's limit
//! for each step of a session, or one limit for all of them (`[smtp]
//! timeout`, `--smtp-timeout`). A relay that accepts a connection and never
//! greets, or stops answering in the middle of a session, then costs the
//! send that long, not the rest of the day: the connection is closed and
//! its messages are deferred (see `transport`).
//!
//! Replies are awaited with the limit of the command they answer; writes
//! fail when the relay takes no data for the data block limit
//! ([`WriteLimit`]). This module owns the limits and the stream; the
//! exchange that applies them is `transport`'s.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The limits of an SMTP session's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the TCP connection (RFC 5321 says nothing; 30 s).
    pub connect: Duration,
    /// The 220 greeting (§4.5.3.2.1: 5 min).
    pub greeting: Duration,
    /// The replies to EHLO, STARTTLS, AUTH, RSET and QUIT, for which
    /// §4.5.3.2 names no limit: MAIL's 5 min.
    pub command: Duration,
    /// The reply to MAIL (§4.5.3.2.2: 5 min).
    pub mail: Duration,
    /// The reply to each RCPT (§4.5.3.2.3: 5 min).
    pub rcpt: Duration,
    /// The reply to DATA, "354" (§4.5.3.2.4: 2 min).
    pub data: Duration,
    /// Each write of the content, "each TCP SEND call" (§4.5.3.2.5: 3 min).
    pub data_block: Duration,
    /// The reply to the content's final `.` (§4.5.3.2.6: 10 min).
    pub data_end: Duration,
}

impl Timeouts {
    /// The limits of RFC 5321 §4.5.3.2.
    pub const RFC_5321: Timeouts = Timeouts {
        connect: Duration::from_secs(30),
        greeting: Duration::from_secs(5 * 60),
        command: Duration::from_secs(5 * 60),
        mail: Duration::from_secs(5 * 60),
        rcpt: Duration::from_secs(5 * 60),
        data: Duration::from_secs(2 * 60),
        data_block: Duration::from_secs(3 * 60),
        data_end: Duration::from_secs(10 * 60),
    };

    /// One limit for every step (`[smtp] timeout`).
    pub fn all(limit: Duration) -> Timeouts {
        Timeouts {
            connect: limit,
            greeting: limit,
            command: limit,
            mail: limit,
            rcpt: limit,
            data: limit,
            data_block: limit,
            data_end: limit,
        }
    }

    /// The limits to use: RFC 5321's, or `limit` for all of them.
    pub fn with_override(limit: Option<Duration>) -> Timeouts {
        limit.map_or(Timeouts::RFC_5321, Timeouts::all)
    }

    /// How long a QUIT waits for its reply: nothing depends on it, so at
    /// most 10 s (RFC 5321 §4.1.1.10 asks the client to wait for it, not
    /// how long), or the command limit when that is shorter.
    pub fn quit(&self) -> Duration {
        self.command.min(Duration::from_secs(10))
    }
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts::RFC_5321
    }
}

/// A duration as a press officer reads it: "2 s", "5 min".
pub struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs >= 60 && secs.is_multiple_of(60) {
            write!(f, "{} min", secs / 60)
        } else if self.0.subsec_millis() == 0 {
            write!(f, "{secs} s")
        } else {
            write!(f, "{:.1} s", self.0.as_secs_f64())
        }
    }
}

/// What was being waited for when a limit ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    /// "greeting", "reply to RCPT", …
    pub waiting_for: &'static str,
    pub limit: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no {} within {}", self.waiting_for, Human(self.limit))
    }
}

/// Runs `step`, giving up after `limit`. A step given up leaves the session
/// in an unknown state: the caller closes the connection.
pub async fn within<T>(
    limit: Duration,
    waiting_for: &'static str,
    step: impl Future<Output = T>,
) -> Result<T, TimedOut> {
    tokio::time::timeout(limit, step)
        .await
        .map_err(|_| TimedOut { waiting_for, limit })
}

/// A TCP stream whose writes fail when the relay takes no data for
/// `limit`: RFC 5321 §4.5.3.2.5 bounds "each TCP SEND call" of the content
/// rather than the whole of it, so a large message on a slow link is not
/// cut off while it still moves. Commands are small and never wait here.
/// Reads are bounded per reply by the exchange ([`within`]).
#[derive(Debug)]
pub struct WriteLimit {
    stream: tokio::net::TcpStream,
    limit: Duration,
    /// Since when a write has been waiting for the relay to take data.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl WriteLimit {
    pub fn new(stream: tokio::net::TcpStream, limit: Duration) -> WriteLimit {
        WriteLimit {
            stream,
            limit,
            stalled: None,
        }
    }
}

impl AsyncRead for WriteLimit {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteLimit {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let limit = this.limit;
                let stalled = this
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match stalled.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.stalled = None;
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("the relay took no data for {}", Human(limit)),
                        )))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for WriteLimit {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.stream.peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn durations_read_as_words() {
        assert_eq!(Human(Duration::from_secs(300)).to_string(), "5 min");
        assert_eq!(Human(Duration::from_secs(2)).to_string(), "2 s");
        assert_eq!(Human(Duration::from_secs(90)).to_string(), "90 s");
        assert_eq!(Human(Duration::from_millis(1500)).to_string(), "1.5 s");
        assert_eq!(Timeouts::RFC_5321.quit(), Duration::from_secs(10));
        assert_eq!(Timeouts::all(Duration::from_secs(2)).quit().as_secs(), 2);
    }

    /// A relay that stops reading: the write gives up after the limit
    /// instead of waiting for ever.
    #[tokio::test]
    async fn a_write_the_relay_never_takes_fails_after_the_limit() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        // Accepted, never read.
        let (_server, _) = listener.accept().await.unwrap();
        let mut stream = WriteLimit::new(client, Duration::from_millis(300));
        let started = std::time::Instant::now();
        let block = vec![b'x'; 1 << 20];
        let result = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                stream.write_all(&block).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), io::Error>(())
        })
        .await
        .expect("the write gave up by itself");
        let e = result.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("took no data for 0.3 s"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
