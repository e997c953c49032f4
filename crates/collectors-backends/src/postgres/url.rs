//! Connection URLs, shown without their password.

/// `postgres://user:***@host:port/db?…`: the URL with its password (if any) replaced.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a URL>".to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    // Query parameters may carry a password too (`?password=…`).
    let tail = match tail.split_once('?') {
        Some((path, query)) if query.to_ascii_lowercase().contains("password") => {
            format!("{path}?***")
        }
        _ => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db:5432/ledger",
                "postgres://app:***@db:5432/ledger",
            ),
            ("postgres://app@db/ledger", "postgres://app@db/ledger"),
            (
                "postgresql://db/ledger?user=app&password=s3cret",
                "postgresql://db/ledger?***",
            ),
            ("postgres://a:b:c@d@h/x", "postgres://a:***@h/x"),
            ("not a url s3cret", "<not a URL>"),
        ] {
            assert_eq!(redacted(url), shown);
            assert!(!redacted(url).contains("s3cret"));
        }
    }
}
