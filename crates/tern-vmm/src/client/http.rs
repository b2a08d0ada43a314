//! Just enough HTTP/1.1 for one request per connection to the control API.
//!
//! The client sends `Connection: close`, so the answer ends where the stream ends; a
//! `Content-Length` or chunked body is still decoded properly so that a truncated
//! answer is noticed.

use std::io::{self, Read, Write};

/// Largest answer accepted, headers and body together. `GET /status` of a VM with
/// thousands of threads is well under 1 MiB.
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// A parsed answer.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body, de-chunked.
    pub body: Vec<u8>,
}

/// Writes one request. `body`, if any, is sent as `application/json`. Head and body
/// go out in one write, so that a server that answers from the head alone usually
/// has the body in its buffer too.
pub fn write_request(
    w: &mut impl Write,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> io::Result<()> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    match body {
        Some(b) => head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        )),
        None if method != "GET" => head.push_str("Content-Length: 0\r\n"),
        None => {}
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body.unwrap_or_default());
    w.write_all(&request)?;
    w.flush()
}

/// Reads the whole answer up to the end of the stream; `Ok(None)` if it is larger
/// than [`MAX_RESPONSE_BYTES`].
///
/// A server may answer without reading the request body (a route that takes none)
/// and close the connection; the kernel then reports the unread bytes to us as a
/// connection reset instead of an end of stream. A reset after a complete answer
/// (framed by `Content-Length` or chunks) is therefore the end of the answer.
pub fn read_all(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if raw.len() as u64 > MAX_RESPONSE_BYTES {
                    return Ok(None);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset && is_complete(&raw) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Some(raw))
}

/// Whether `raw` holds a whole answer whose end is known without the end of stream.
fn is_complete(raw: &[u8]) -> bool {
    let Some(end) = find(raw, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let framed = head
        .split("\r\n")
        .any(|l| l.starts_with("content-length:") || l.starts_with("transfer-encoding:"));
    framed && parse_response(raw).is_ok()
}

/// Parses a complete answer.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    if raw.is_empty() {
        return Err("the server closed the connection without answering".to_string());
    }
    let end = find(raw, b"\r\n\r\n").ok_or("answer has no end of headers")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "answer headers are not UTF-8")?;
    let rest = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !version.starts_with("HTTP/1.") {
        return Err(format!(
            "not an HTTP/1.x answer: `{}`",
            status_line.escape_debug()
        ));
    }
    let status = code
        .parse::<u16>()
        .ok()
        .filter(|c| (100..600).contains(c))
        .ok_or_else(|| format!("bad status line `{}`", status_line.escape_debug()))?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line `{}`", line.escape_debug()))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("bad Content-Length `{}`", value.escape_debug()))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = content_length {
        if rest.len() < n {
            return Err(format!(
                "answer truncated: {} of {n} body bytes",
                rest.len()
            ));
        }
        rest[..n].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response { status, body })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body (RFC 9112 section 7.1); trailers are ignored.
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let eol = find(data, b"\r\n").ok_or("chunked answer truncated in a chunk size")?;
        let size_text = std::str::from_utf8(&data[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size `{}`", size_text.escape_debug()))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(body);
        }
        if data.len() < size + 2 {
            return Err("chunked answer truncated in a chunk".to_string());
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_body() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
    }

    #[test]
    fn chunked_body() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap().body, b"abcde");
    }

    #[test]
    fn no_content() {
        let r = parse_response(b"HTTP/1.1 204 No Content\r\ndate: x\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.len()), (204, 0));
    }

    /// A reader that hands out `data` and then fails with `err`.
    struct ThenFail<'a>(&'a [u8], io::ErrorKind);

    impl Read for ThenFail<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(self.1.into());
            }
            let n = buf.len().min(self.0.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn reset_after_a_complete_answer_ends_it() {
        let whole = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
        let raw = read_all(&mut ThenFail(whole, io::ErrorKind::ConnectionReset)).unwrap();
        assert_eq!(raw.unwrap(), whole);
        for partial in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab"[..],
            b"HTTP/1.1 200 OK\r\n\r\nunframed",
            b"HTTP/1.1 200 OK\r\n",
        ] {
            let e = read_all(&mut ThenFail(partial, io::ErrorKind::ConnectionReset)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        }
        let e = read_all(&mut ThenFail(whole, io::ErrorKind::BrokenPipe)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn broken_answers_are_errors() {
        for raw in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\n",
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        ] {
            assert!(
                parse_response(raw).is_err(),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
