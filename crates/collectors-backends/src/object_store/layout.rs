//! Record keys as object names: readable, deterministic, one key one name.
//!
//! A key is split on `/` into folders. An engine key `{source}/{item}#{batch}` names the
//! object `{source}/{item}/part-{batch:05}.{ext}`: the parts of one source item sit in one
//! folder, in batch order (`incoming/2024/a.csv/part-00000.parquet`). Any other key `k`
//! names `k.{ext}`. In each folder name only what would be unsafe or ambiguous is
//! percent-encoded: `%`, control characters, an empty, `.` or `..` folder, and a leading
//! `part-` of a last segment that is not a batch (so `x/part-00000` and `x#0` differ).

use collectors_core::{Error, Result};

/// S3's limit on a key, in bytes.
const MAX_OBJECT_NAME: usize = 1024;

/// The object name (relative to the store's prefix) of `key` with `extension`.
pub(crate) fn object_name(key: &str, extension: &str) -> Result<String> {
    if key.trim().is_empty() {
        return Err(Error::validation("a record key must not be empty"));
    }
    let mut segments: Vec<&str> = key.split('/').collect();
    let last = segments.pop().unwrap_or_default();
    let mut out: Vec<String> = segments.iter().map(|s| encode(s)).collect();
    match batch_suffix(last) {
        Some((base, batch)) => {
            out.push(encode(base));
            out.push(format!("part-{batch:05}.{extension}"));
        }
        None => {
            let mut name = encode(last);
            if name.starts_with("part-") {
                name.replace_range(..1, "%70");
            }
            out.push(format!("{name}.{extension}"));
        }
    }
    let name = out.join("/");
    if name.len() > MAX_OBJECT_NAME {
        return Err(Error::validation(format!(
            "record key {:?}… names an object of {} bytes; stores take at most {MAX_OBJECT_NAME}",
            key.chars().take(64).collect::<String>(),
            name.len()
        )));
    }
    Ok(name)
}

/// The folder every object of keys starting with `prefix` sits under, when the prefix ends
/// inside a known folder (`src/2024/a` → `src/2024`).
pub(crate) fn folder_of_prefix(prefix: &str) -> Option<String> {
    let (folders, _) = prefix.rsplit_once('/')?;
    Some(folders.split('/').map(encode).collect::<Vec<_>>().join("/"))
}

/// `name#N` with `N` a canonical decimal: the engine's batch suffix.
fn batch_suffix(segment: &str) -> Option<(&str, u64)> {
    let (base, digits) = segment.rsplit_once('#')?;
    if base.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok().map(|n| (base, n))
}

fn encode(segment: &str) -> String {
    match segment {
        // A lone `%` is never produced otherwise (a real `%` is `%25`).
        "" => "%".to_owned(),
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        _ => {
            let mut out = String::with_capacity(segment.len());
            for c in segment.chars() {
                if c == '%' || c.is_control() {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{b:02X}"));
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_keys_are_folders_of_parts() {
        assert_eq!(
            object_name("incoming/2024/a.csv#0", "parquet").unwrap(),
            "incoming/2024/a.csv/part-00000.parquet"
        );
        assert_eq!(
            object_name("in/a.csv#123456", "jsonl").unwrap(),
            "in/a.csv/part-123456.jsonl"
        );
        assert_eq!(object_name("plain", "jsonl").unwrap(), "plain.jsonl");
    }

    #[test]
    fn distinct_keys_name_distinct_objects() {
        let keys = [
            "x/a#0",
            "x/a/part-00000",
            "x/a#00",
            "x/a",
            "x//a",
            "x/./a",
            "x/../a",
            "x/%2E/a",
            "x/%/a",
            "x/a#",
            "#0",
            "x/a\nb",
            "x/a%0Ab",
        ];
        let names: std::collections::HashSet<_> = keys
            .iter()
            .map(|k| object_name(k, "jsonl").unwrap())
            .collect();
        assert_eq!(names.len(), keys.len(), "{names:?}");
        for name in &names {
            assert!(
                ::object_store::path::Path::parse(name).is_ok(),
                "{name:?} is a valid object path"
            );
        }
    }

    #[test]
    fn prefixes_map_to_folders() {
        assert_eq!(folder_of_prefix("src/2024/a"), Some("src/2024".to_owned()));
        assert_eq!(folder_of_prefix("src/"), Some("src".to_owned()));
        assert_eq!(folder_of_prefix("src"), None);
    }
}
