//! A local HTTP server that answers like a messaging API: each request is recorded
//! whole (method, path, headers, body), then answered as the test says. Plus a reader
//! for the multipart/form-data and form-urlencoded bodies the channels send.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query, e.g. `/bot123:ABC/sendPhoto`.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The parts of a multipart/form-data body.
    pub fn multipart(&self) -> Vec<Part> {
        let content_type = self.header("Content-Type").expect("a Content-Type");
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .unwrap_or_else(|| panic!("no boundary in {content_type}"))
            .trim_matches('"');
        parse_multipart(&self.body, boundary)
    }

    /// The fields of an application/x-www-form-urlencoded body, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Part {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a text part")
    }
}

/// The named part; panics with the names present when it is missing.
pub fn part<'a>(parts: &'a [Part], name: &str) -> &'a Part {
    parts.iter().find(|p| p.name == name).unwrap_or_else(|| {
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        panic!("no part {name:?}; parts: {names:?}")
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Splits a multipart body (RFC 7578) into its parts.
pub fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut at = find(body, delimiter.as_bytes(), 0).expect("a first boundary") + delimiter.len();
    loop {
        if body[at..].starts_with(b"--") {
            return parts;
        }
        let head_start = at + 2; // CRLF after the boundary
        let head_end = find(body, b"\r\n\r\n", head_start).expect("part headers");
        let head = String::from_utf8_lossy(&body[head_start..head_end]).into_owned();
        let next = find(body, format!("\r\n{delimiter}").as_bytes(), head_end)
            .expect("a closing boundary");
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            body: body[head_end + 4..next].to_vec(),
        };
        for line in head.split("\r\n") {
            let (name, value) = line.split_once(':').expect("a header line");
            if name.eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_owned());
            } else if name.eq_ignore_ascii_case("content-disposition") {
                for param in value.split(';').skip(1) {
                    let (k, v) = param.trim().split_once('=').expect("a parameter");
                    let v = v.trim_matches('"').to_owned();
                    match k {
                        "name" => part.name = v,
                        "filename" => part.filename = Some(v),
                        _ => {}
                    }
                }
            }
        }
        parts.push(part);
        at = next + 2 + delimiter.len();
    }
}

/// An answer: status, extra headers, body.
pub type Answer = (u16, Vec<(&'static str, String)>, String);

/// The requests a server received, shared with its thread.
pub type Log = Arc<Mutex<Vec<Received>>>;

/// A server on `listener` answering the n-th request (0-based) with `answer`.
pub fn serve(
    listener: TcpListener,
    answer: impl Fn(usize, &Received) -> Answer + Send + 'static,
) -> Log {
    let server = tiny_http::Server::from_listener(listener, None).expect("a server");
    let received: Log = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&received);
    thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = Vec::new();
            let _ = request.as_reader().read_to_end(&mut body);
            let got = Received {
                method: request.method().to_string(),
                url: request.url().to_owned(),
                headers: request
                    .headers()
                    .iter()
                    .map(|h| (h.field.to_string(), h.value.to_string()))
                    .collect(),
                body,
            };
            let n = {
                let mut log = log.lock().unwrap();
                log.push(got.clone());
                log.len() - 1
            };
            let (status, headers, text) = answer(n, &got);
            let mut response = tiny_http::Response::from_string(text).with_status_code(status);
            for (name, value) in headers {
                response.add_header(tiny_http::Header::from_bytes(name, value).unwrap());
            }
            let _ = request.respond(response);
        }
    });
    received
}

/// A listener on a free loopback port, and its base URL.
pub fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// A JSON answer with status 200.
pub fn ok(json: serde_json::Value) -> Answer {
    (
        200,
        vec![("Content-Type", "application/json".into())],
        json.to_string(),
    )
}
