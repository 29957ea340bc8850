//! The optional metrics endpoint on `127.0.0.1:<port>`, served off the event
//! loop: a client that connects and sends nothing, or sends an endless header,
//! must not hold up event handling or the systemd watchdog.
//!
//! The loop publishes the rendered text at each flush; an accept thread hands
//! each connection to a short-lived thread with a deadline for the whole
//! request head, a write timeout and a size cap, and at most
//! [`MAX_CONNECTIONS`] run at once. The port is bound in `Service::start`,
//! before capabilities are dropped; the threads start afterwards, since a
//! thread inherits its creator's capabilities.

use crate::privileges;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Time a client has to send its whole request head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Time the answer may take to be written.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head read; a larger one gets 431 and the connection is closed.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// Connections served at once; more are closed right away.
pub const MAX_CONNECTIONS: usize = 16;
/// A connection thread only parses a request and copies a few KiB out.
const CONNECTION_STACK: usize = 128 * 1024;

/// The latest metrics text, written by the loop, read by the connections.
#[derive(Clone, Debug, Default)]
pub(super) struct SharedMetrics(Arc<Mutex<Arc<str>>>);

impl SharedMetrics {
    pub(super) fn publish(&self, text: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = text.into();
    }

    /// Cheap: the lock is held only to clone a pointer.
    fn latest(&self) -> Arc<str> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The endpoint from the bind (as root, before the capability drop) to serving.
#[derive(Debug)]
pub(super) struct MetricsEndpoint {
    port: u16,
    /// Taken by the accept thread when serving starts.
    listener: Option<TcpListener>,
    text: SharedMetrics,
}

impl MetricsEndpoint {
    pub(super) fn bind(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            std::io::Error::new(e.kind(), format!("metrics on 127.0.0.1:{port}: {e}"))
        })?;
        Ok(MetricsEndpoint {
            port,
            listener: Some(listener),
            text: SharedMetrics::default(),
        })
    }

    pub(super) fn port(&self) -> u16 {
        self.port
    }

    pub(super) fn publish(&self, text: String) {
        self.text.publish(text);
    }

    /// Starts the accept thread (once).
    pub(super) fn serve(&mut self) -> std::io::Result<()> {
        let Some(listener) = self.listener.take() else {
            return Ok(());
        };
        let text = self.text.clone();
        std::thread::Builder::new()
            .name("metrics-http".into())
            .spawn(move || accept_loop(listener, text))?;
        tracing::info!("serving metrics on http://127.0.0.1:{}/metrics", self.port);
        Ok(())
    }
}

/// Decrements the count of running connections when a connection ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn accept_loop(listener: TcpListener, text: SharedMetrics) {
    // This thread and its children read untrusted bytes and need no privilege.
    if let Err(e) = privileges::drop_all_in_this_thread() {
        tracing::warn!("metrics endpoint: cannot drop capabilities: {e}");
    }
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                // E.g. out of fds: do not spin on it.
                tracing::debug!("metrics endpoint: accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if active.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            tracing::debug!("metrics endpoint: {MAX_CONNECTIONS} connections open; closing one");
            continue;
        }
        active.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(active.clone());
        let text = text.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-conn".into())
            .stack_size(CONNECTION_STACK)
            .spawn(move || {
                let _slot = slot;
                if let Err(e) = answer(stream, &text.latest(), &Limits::default()) {
                    tracing::debug!("metrics request: {e}");
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("metrics endpoint: cannot start a connection thread: {e}");
        }
    }
}

/// Per-connection limits (shorter in tests).
#[derive(Clone, Copy, Debug)]
struct Limits {
    request_timeout: Duration,
    write_timeout: Duration,
    max_head: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: REQUEST_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            max_head: MAX_REQUEST_HEAD,
        }
    }
}

/// Why no request head was read.
#[derive(Debug, thiserror::Error)]
enum HeadError {
    #[error("request head larger than {0} bytes")]
    TooLarge(usize),
    #[error("reading the request: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads until the blank line ending the head (or EOF), never keeping more than
/// `max` bytes plus one read.
fn read_head(r: &mut impl Read, max: usize) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(head),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        // Only the new bytes (and the 3 before them) can complete the terminator.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        let end = head[from..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| from + i + 4);
        if end.is_some_and(|e| e <= max) {
            return Ok(head);
        }
        if end.is_some() || head.len() > max {
            return Err(HeadError::TooLarge(max));
        }
    }
}

/// A socket whose reads share one deadline, so a client dripping a byte at a
/// time cannot stretch the request beyond it.
struct Deadline<'a> {
    stream: &'a TcpStream,
    at: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                ErrorKind::TimedOut,
                "request head not complete in time",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut s = self.stream;
        s.read(buf).map_err(|e| match e.kind() {
            // How an expired SO_RCVTIMEO shows up.
            ErrorKind::WouldBlock => {
                std::io::Error::new(ErrorKind::TimedOut, "request head not complete in time")
            }
            _ => e,
        })
    }
}

/// Answers one HTTP/1.x request: `GET /metrics` gets the exposition text, other
/// paths 404, an oversized head 431; a head not sent in time gets no answer.
fn answer(mut stream: TcpStream, body: &str, limits: &Limits) -> std::io::Result<()> {
    stream.set_write_timeout(Some(limits.write_timeout))?;
    let mut reader = Deadline {
        stream: &stream,
        at: Instant::now() + limits.request_timeout,
    };
    let head = match read_head(&mut reader, limits.max_head) {
        Ok(h) => h,
        Err(HeadError::TooLarge(max)) => {
            tracing::debug!("metrics request: head over {max} bytes refused");
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain; charset=utf-8",
                "request header too large\n",
            );
        }
        Err(HeadError::Io(e)) => return Err(e),
    };
    let first = String::from_utf8_lossy(&head);
    let first = first.lines().next().unwrap_or("");
    if first.starts_with("GET /metrics ") || first == "GET /metrics" {
        respond(
            &mut stream,
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            body,
        )
    } else {
        respond(
            &mut stream,
            "404 Not Found",
            "text/plain; charset=utf-8",
            "try /metrics\n",
        )
    }
}

fn respond(stream: &mut TcpStream, status: &str, ctype: &str, body: &str) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(request: &'static [u8], limits: Limits) -> (String, std::io::Result<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            let _ = s.write_all(request);
            // EOF ends a request without a blank line.
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        });
        let (stream, _) = l.accept().unwrap();
        let served = answer(stream, "milspec_up 1\n", &limits);
        (client.join().unwrap(), served)
    }

    #[test]
    fn http_answers_metrics_and_404() {
        for (req, want) in [
            (&b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"[..], "200 OK"),
            (&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], "404 Not Found"),
            (&b"GET /metrics"[..], "200 OK"), // EOF before a blank line
        ] {
            let (out, served) = exchange(req, Limits::default());
            served.unwrap();
            assert!(out.starts_with(&format!("HTTP/1.1 {want}")), "{out}");
            if want == "200 OK" {
                assert!(out.ends_with("\r\n\r\nmilspec_up 1\n"), "{out}");
            }
        }
    }

    /// An endless header is cut off after the cap: memory stays bounded.
    #[test]
    fn head_size_is_capped() {
        struct Endless(usize);
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                buf.fill(b'a');
                self.0 += buf.len();
                Ok(buf.len())
            }
        }
        let mut r = Endless(0);
        assert!(matches!(
            read_head(&mut r, 8192),
            Err(HeadError::TooLarge(8192))
        ));
        assert!(r.0 <= 8192 + 1024, "read {} bytes", r.0);
        let (out, served) = exchange(
            b"GET /metrics HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
            Limits {
                max_head: 32,
                ..Limits::default()
            },
        );
        served.unwrap();
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    }

    /// A client dripping its head slower than the deadline gets no answer; the
    /// read timeout alone would have been reset by each byte.
    #[test]
    fn slow_head_hits_the_deadline() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            for b in b"GET /metrics HTTP/1.1\r\n" {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let (stream, _) = l.accept().unwrap();
        let start = Instant::now();
        let limits = Limits {
            request_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let err = answer(stream, "x", &limits).unwrap_err();
        assert!(err.kind() == ErrorKind::TimedOut, "{err}");
        assert!(
            start.elapsed() < Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
        client.join().unwrap();
    }

    #[test]
    fn published_text_is_served() {
        let shared = SharedMetrics::default();
        assert_eq!(&*shared.latest(), "");
        shared.publish("milspec_up 1\n".into());
        assert_eq!(&*shared.clone().latest(), "milspec_up 1\n");
    }
}
