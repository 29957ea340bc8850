//! The optional metrics endpoint on `127.0.0.1:<port>`.

use super::Service;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

impl Service {
    pub(super) fn serve_metrics(&mut self) {
        let Some(listener) = &self.http else { return };
        while let Ok((stream, _)) = listener.accept() {
            let body = self.metrics.render();
            if let Err(e) = answer_http(stream, &body) {
                tracing::debug!("metrics request: {e}");
            }
        }
    }
}

/// Answers one HTTP/1.x request: `GET /metrics` gets the exposition text.
fn answer_http(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
    }
    let first = String::from_utf8_lossy(&req);
    let first = first.lines().next().unwrap_or("");
    let (status, ctype, body) = if first.starts_with("GET /metrics ") || first == "GET /metrics" {
        ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body)
    } else {
        (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "try /metrics\n",
        )
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn http_answers_metrics_and_404() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        for (path, want) in [("/metrics", "200 OK"), ("/", "404 Not Found")] {
            let t = std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                out
            });
            let (stream, _) = l.accept().unwrap();
            answer_http(stream, "milspec_up 1\n").unwrap();
            let out = t.join().unwrap();
            assert!(out.starts_with(&format!("HTTP/1.1 {want}")), "{out}");
            if want == "200 OK" {
                assert!(out.ends_with("\r\n\r\nmilspec_up 1\n"), "{out}");
            }
        }
    }
}
