//! What a spec's `Debug` shows of its parameters: secrets (`password`, `secret_access_key` …,
//! see [`is_sensitive_key`]) and the passwords of URLs (`postgres://u:pw@h/db`) as `***`.

use std::fmt;

use collectors_core::{REDACTED, is_sensitive_key};

use crate::spec::Params;

/// `params` for `Debug`, secrets hidden.
pub(crate) struct Redacted<'a>(pub(crate) &'a Params);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in self.0 {
            map.entry(key, &redact_value(key, value));
        }
        map.finish()
    }
}

fn redact_value(key: &str, value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    if is_sensitive_key(key) {
        return Value::String(REDACTED.to_owned());
    }
    match value {
        Value::String(text) => Value::String(redact_url_password(text)),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact_value(k, v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_value(key, v)).collect()),
        other => other.clone(),
    }
}

/// `scheme://user:password@host…` with the password as `***`; any other text unchanged.
pub(crate) fn redact_url_password(text: &str) -> String {
    let Some(start) = text.find("://").map(|at| at + 3) else {
        return text.to_owned();
    };
    let authority_end = text[start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |at| start + at);
    let authority = &text[start..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:{REDACTED}{}",
            &text[..start],
            &authority[..colon],
            &text[start + at..]
        ),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_hidden_and_the_rest_kept() {
        assert_eq!(
            redact_url_password("postgres://bob:s3cr3t@db:5432/warehouse?sslmode=require"),
            "postgres://bob:***@db:5432/warehouse?sslmode=require"
        );
        assert_eq!(
            redact_url_password("postgres://bob@db/w"),
            "postgres://bob@db/w"
        );
        assert_eq!(
            redact_url_password("s3://bucket/a:b@c"),
            "s3://bucket/a:b@c"
        );
        assert_eq!(redact_url_password("plain text"), "plain text");
    }
}
