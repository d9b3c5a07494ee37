//! URLs as GoTrue (Go's net/url) reads and writes them: query strings (`+` is a space,
//! bad escapes stay as they are), redirect URLs with parameters set, and which redirect
//! URLs are allowed. A leaf module.
//!
//! Query strings are read by form_urlencoded and escaped by percent-encoding (with Go's
//! set: form_urlencoded's own serializer keeps `*` and escapes `~`, Go the reverse).
//! `url_with` and `origin` split the URL by hand, on purpose: url::Url normalizes what
//! Go keeps as written (it adds a `/` after the host, drops a default port, and refuses
//! hosts that GoTrue reads and then refuses itself), and redirects must come back
//! byte for byte as GoTrue sends them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Go's url.Values: keys sorted, values in order.
pub type Query = BTreeMap<String, Vec<String>>;

/// What Go's url.QueryEscape leaves as it is: letters, digits and `-_.~`.
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Go's url.QueryEscape (a space is `+`).
pub fn query_escape(s: &str) -> String {
    // A `%` in the input is `%25`, so every `%20` left is a space.
    utf8_percent_encode(s, QUERY_ESCAPE)
        .to_string()
        .replace("%20", "+")
}

/// Go's url.ParseQuery, as form_urlencoded decodes it.
pub fn parse_query(query: &str) -> Query {
    let mut parsed = Query::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        parsed
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    parsed
}

/// The first value of a query parameter (Go's `r.URL.Query().Get`... on the first value).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Go's url.Values.Encode.
pub fn encode_query(query: &Query) -> String {
    let pairs = query
        .iter()
        .flat_map(|(k, values)| values.iter().map(move |v| (k, v)));
    pairs
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The URL with these query parameters set (re-encoded and sorted, as Go's
/// `u.Query()` ... `q.Encode()`), and a new fragment (or its own). The rest of the URL
/// stays as written (Go's url.URL.String adds no `/` after the host, as url::Url would).
pub fn url_with(url: &str, set: &[(&str, &str)], fragment: Option<&str>) -> String {
    let (rest, own_fragment) = match url.split_once('#') {
        Some((rest, f)) => (rest, Some(f)),
        None => (url, None),
    };
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut q = parse_query(query);
    for (k, v) in set {
        q.insert(k.to_string(), vec![v.to_string()]);
    }
    let mut out = base.to_string();
    let encoded = encode_query(&q);
    if !encoded.is_empty() {
        out.push('?');
        out.push_str(&encoded);
    }
    if let Some(f) = fragment.or(own_fragment) {
        out.push('#');
        out.push_str(f);
    }
    out
}

pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: String,
}

/// Scheme, host and port of an absolute URL, as Go's url.Parse gives Hostname() and
/// Port(): the port as written (url::Url would drop a default port, and refuse hosts
/// that GoTrue reads and then refuses itself).
pub fn origin(url: &str) -> Option<Origin> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':').unwrap_or_default())
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => (host_port, ""),
        },
    };
    Some(Origin {
        scheme: scheme.to_ascii_lowercase(),
        host: host.to_ascii_lowercase(),
        port: port.to_string(),
    })
}

/// GoTrue's utilities.IsRedirectURLValid, with the allow list's entries as prefixes.
pub fn redirect_allowed(site_url: &str, allow_list: &[String], url: &str) -> bool {
    if url.is_empty() {
        return false;
    }
    if let (Some(site), Some(to)) = (origin(site_url), origin(url)) {
        let localhost =
            ["localhost", "127.0.0.1", "::1", "0.0.0.0", "::"].contains(&to.host.as_str());
        if site.host == to.host && site.scheme == to.scheme && (site.port == to.port || localhost) {
            return true;
        }
        if !to.host.is_empty() && to.host.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if let Ok(ip) = to.host.parse::<IpAddr>() {
            return ip.is_loopback();
        }
        let regular = to.host.starts_with(|c: char| c.is_ascii_alphanumeric())
            && to.host.ends_with(|c: char| c.is_ascii_alphanumeric())
            && to
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if (to.scheme == "http" || to.scheme == "https") && !regular {
            return false;
        }
    }
    let without_fragment = url.split('#').next().unwrap_or_default();
    allow_list
        .iter()
        .any(|prefix| without_fragment.starts_with(prefix.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_as_go_does() {
        let q = parse_query("b=2&a=x+y&a=%41%zz&&c&d=%E2%82%AC");
        assert_eq!(q["a"], ["x y", "A%zz"]);
        assert_eq!(q["b"], ["2"]);
        assert_eq!(q["c"], [""]);
        assert_eq!(q["d"], ["€"]);
        assert_eq!(query_param("x=1&x=2", "x").as_deref(), Some("1"));
        assert_eq!(query_param("%78=1", "x").as_deref(), Some("1"));
        assert_eq!(query_param("xx=1", "x"), None);
    }

    #[test]
    fn escapes_as_go_query_escape() {
        assert_eq!(query_escape("a b~c*d/é%20"), "a+b~c%2Ad%2F%C3%A9%2520");
        assert_eq!(query_escape("AZaz09-_."), "AZaz09-_.");
    }

    #[test]
    fn sets_parameters_sorted_and_keeps_the_rest_as_written() {
        let to = "http://localhost:3000?z=1&a=b+c#keep";
        assert_eq!(
            url_with(to, &[("code", "x y")], None),
            "http://localhost:3000?a=b+c&code=x+y&z=1#keep"
        );
        assert_eq!(
            url_with("https://app.test/cb", &[("e", "1")], Some("sb=")),
            "https://app.test/cb?e=1#sb="
        );
        assert_eq!(
            url_with("https://app.test/", &[], None),
            "https://app.test/"
        );
    }

    #[test]
    fn origins_keep_the_port_as_written() {
        let o = origin("HTTPS://User@Example.COM:443/x?y#z").unwrap();
        assert_eq!(
            (o.scheme.as_str(), o.host.as_str()),
            ("https", "example.com")
        );
        assert_eq!(o.port, "443");
        let v6 = origin("http://[::1]:8080/").unwrap();
        assert_eq!((v6.host.as_str(), v6.port.as_str()), ("::1", "8080"));
        assert!(origin("no-scheme").is_none());
        assert!(origin("1http://x").is_none());
    }

    #[test]
    fn redirects_allowed_as_gotrue_allows_them() {
        let site = "http://localhost:3000";
        let list = ["https://app.test/auth/".to_string()];
        let allowed = |url: &str| redirect_allowed(site, &list, url);
        assert!(allowed("http://localhost:3000/welcome"));
        assert!(allowed("http://localhost:5173/any-port-on-localhost"));
        assert!(allowed("https://app.test/auth/callback?x=1"));
        assert!(allowed("http://127.0.0.2/loopback"));
        assert!(!allowed(""));
        assert!(!allowed("https://app.test/elsewhere"));
        assert!(!allowed("https://evil.test/auth/"));
        assert!(!allowed("http://10.0.0.1/"));
        assert!(!allowed("http://2130706433/"));
        assert!(!allowed("https://app.test_/auth/"));
        assert!(!allowed("https://localhost:3000/scheme-differs"));
    }
}
