//! Links and addresses left from a template: `#`, an empty link, a link or
//! an address at example.com, example.net or example.org (the names
//! RFC 2606 §3 reserves for examples, and what starters and templates fill
//! in). `release check` warns about each, so a release does not go out
//! with "More information: https://example.org/report".

use super::file::ReleaseFile;

/// A value of a release file's front matter that is a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFrontMatter {
    /// "links.website", "from.email"…
    pub key: String,
    /// The line of the file that sets it (`None`: inherited from the main file).
    pub line: Option<usize>,
    pub value: String,
}

/// The placeholders among the links, addresses and phone number of
/// `file`'s front matter.
pub fn in_front_matter(file: &ReleaseFile) -> Vec<InFrontMatter> {
    let f = &file.front;
    let links = [
        (Some("links"), "website", f.links.website.as_deref()),
        (Some("links"), "mirror", f.links.mirror.as_deref()),
    ]
    .into_iter()
    .chain(
        f.links
            .social
            .iter()
            .map(|s| (Some("links"), "social", Some(s.url.as_str()))),
    )
    .filter_map(|(t, k, v)| Some((t, k, v?)))
    .filter(|(_, _, v)| is_placeholder_link(v));
    let contact = f.contact.as_ref();
    let addresses = [
        (Some("from"), "email", Some(f.from.email.as_str())),
        (None, "reply_to", f.reply_to.as_deref()),
        (
            Some("contact"),
            "email",
            contact.and_then(|c| c.email.as_deref()),
        ),
    ]
    .into_iter()
    .filter_map(|(t, k, v)| Some((t, k, v?)))
    .filter(|(_, _, v)| is_placeholder_address(v));
    let phone = contact
        .and_then(|c| c.phone.as_deref())
        .filter(|p| is_placeholder_phone(p))
        .map(|p| (Some("contact"), "phone", p));
    links
        .chain(addresses)
        .chain(phone)
        .map(|(table, key, value)| InFrontMatter {
            key: table.map_or(key.to_string(), |t| format!("{t}.{key}")),
            line: file.key_line(table, key),
            value: value.to_string(),
        })
        .collect()
}

/// The link targets (`href`) of a rendered HTML message that are
/// placeholders, each once, in order, HTML entities for `&` undone.
pub fn links_in_html(html: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("href=") {
        let start = from + i + "href=".len();
        from = start;
        let rest = &html[start..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let Some(end) = rest[1..].find(quote) else {
            break;
        };
        let url = rest[1..1 + end].replace("&amp;", "&");
        from = start + 1 + end;
        if is_placeholder_link(&url) && !found.contains(&url) {
            found.push(url);
        }
    }
    found
}

/// Whether a link target is a placeholder: empty, `#`, or at an example
/// domain (`mailto:` included).
pub fn is_placeholder_link(url: &str) -> bool {
    let url = url.trim();
    if url.is_empty() || url == "#" {
        return true;
    }
    let lower = url.to_ascii_lowercase();
    if let Some(address) = lower.strip_prefix("mailto:") {
        let address = address.split('?').next().unwrap_or(address);
        return address.split(',').any(is_placeholder_address);
    }
    let Some(rest) = ["https://", "http://", "//"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host);
    is_example_domain(host)
}

/// Whether an e-mail address is at an example domain.
pub fn is_placeholder_address(address: &str) -> bool {
    address
        .trim()
        .rsplit_once('@')
        .is_some_and(|(_, domain)| is_example_domain(&domain.to_ascii_lowercase()))
}

/// "+00 000 000 000": a phone number of zeros only.
fn is_placeholder_phone(phone: &str) -> bool {
    let mut digits = phone.chars().filter(char::is_ascii_digit).peekable();
    digits.peek().is_some() && digits.all(|d| d == '0')
}

/// example.com, example.net, example.org or a name under one of them.
fn is_example_domain(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    ["example.com", "example.net", "example.org"]
        .iter()
        .any(|d| host == *d || host.strip_suffix(d).is_some_and(|s| s.ends_with('.')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_told_from_real_links() {
        for url in [
            "",
            " ",
            "#",
            "https://example.org",
            "https://www.example.com/report?x=1",
            "http://mirror.example.net/",
            "HTTPS://Example.ORG",
            "https://user@example.org:8443/x",
            "mailto:press@example.org",
            "mailto:a@real.example,press@example.com?subject=x",
            "//example.com/x",
        ] {
            assert!(is_placeholder_link(url), "{url:?}");
        }
        for url in [
            "#section",
            "https://clearwater-rights.example",
            "https://myexample.org",
            "https://example.org.evil.test",
            "https://notexample.com/x",
            "mailto:press@clearwater-rights.example",
            "https://social.example/@org",
            "relative/path",
        ] {
            assert!(!is_placeholder_link(url), "{url:?}");
        }
        assert!(is_placeholder_address("press@example.org"));
        assert!(!is_placeholder_address("press@ngo.example"));
        assert!(is_placeholder_phone("+00 000 000 000"));
        assert!(!is_placeholder_phone("+254 20 555 0100"));
        assert!(!is_placeholder_phone("n/a"));
    }

    #[test]
    fn links_are_found_in_html() {
        let html = "<p><a href=\"#\">here</a> <A HREF='https://example.org/r?a=1&amp;b=2'>r</A> \
                    <a href=\"https://real.test\">ok</a> <a href=\"\">empty</a> <a href=\"#\">again</a></p>";
        assert_eq!(
            links_in_html(html),
            vec!["#", "https://example.org/r?a=1&b=2", ""]
        );
    }
}
