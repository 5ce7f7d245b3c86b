//! Where the kiosk is on the network, for the alert text: its LAN addresses (from the
//! system's interface list) and its public IP (asked of a configurable lookup URL,
//! cached, and never waited on longer than the cap, so an alert is never held up).

use std::net::IpAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a learned public IP is trusted without asking again.
const FRESH_FOR: Duration = Duration::from_secs(600);
/// How long a learned public IP is still reported when a new lookup fails.
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);

/// The kiosk's LAN addresses with their interface, e.g. `192.168.1.20 (eth0)`: IPv4
/// and global or unique-local IPv6, loopback and link-local left out.
pub fn lan_addresses() -> Vec<String> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut out: Vec<(bool, String)> = interfaces
        .into_iter()
        .filter(|i| !i.is_loopback())
        .filter(|i| match i.ip() {
            IpAddr::V4(v4) => !v4.is_link_local(),
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        })
        .map(|i| (i.ip().is_ipv6(), format!("{} ({})", i.ip(), i.name)))
        .collect();
    out.sort();
    out.dedup();
    out.into_iter().map(|(_, s)| s).collect()
}

/// Looks up the public IP from `url` (a JSON `{"ip": "…"}` answer such as ipify's, or
/// the bare address as text), with a cache. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct PublicIp {
    url: Option<String>,
    cache: Arc<Mutex<Option<(String, Instant)>>>,
}

impl PublicIp {
    /// A lookup against `url`; `None` never looks anything up.
    pub fn new(url: Option<String>) -> PublicIp {
        PublicIp {
            url,
            cache: Arc::new(Mutex::new(None)),
        }
    }

    fn cached(&self, max_age: Duration) -> Option<String> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .as_ref()
            .filter(|(_, at)| at.elapsed() < max_age)
            .map(|(ip, _)| ip.clone())
    }

    /// The public IP, from the cache when fresh, else asked with at most `cap` of
    /// waiting (the lookup goes on in the background and fills the cache if it answers
    /// later). `None` when unknown.
    pub fn lookup(&self, cap: Duration) -> Option<String> {
        if let Some(ip) = self.cached(FRESH_FOR) {
            return Some(ip);
        }
        let url = self.url.clone()?;
        let (tx, rx) = mpsc::channel();
        let cache = Arc::clone(&self.cache);
        let spawned = thread::Builder::new()
            .name("public-ip".into())
            .spawn(move || {
                let found = ask(&url);
                match &found {
                    Ok(ip) => {
                        *cache.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some((ip.clone(), Instant::now()));
                    }
                    Err(e) => tracing::info!("public IP unknown: {e}"),
                }
                let _ = tx.send(found.ok());
            });
        if spawned.is_err() {
            return self.cached(KEEP_FOR);
        }
        match rx.recv_timeout(cap) {
            Ok(Some(ip)) => Some(ip),
            _ => self.cached(KEEP_FOR),
        }
    }
}

fn ask(url: &str) -> Result<String, String> {
    super::channels::install_crypto_provider();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let response = client
        .get(url)
        .send()
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let body = response
        .text()
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    parse_answer(&body).ok_or_else(|| format!("{url}: the answer is not an IP address"))
}

/// Reads `{"ip": "203.0.113.7"}` or a bare `203.0.113.7`.
fn parse_answer(body: &str) -> Option<String> {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => v.get("ip")?.as_str()?.to_owned(),
        Err(_) => body.trim().to_owned(),
    };
    text.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_json_or_text_and_checked() {
        assert_eq!(
            parse_answer(r#"{"ip":"203.0.113.7"}"#).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            parse_answer("2001:db8::1\n").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(parse_answer("<html>captive portal</html>"), None);
        assert_eq!(parse_answer(r#"{"ip":"not an ip"}"#), None);
    }

    #[test]
    fn no_url_means_unknown_at_once() {
        assert_eq!(PublicIp::new(None).lookup(Duration::from_secs(2)), None);
    }
}
