//! Object and file names: readable, deterministic, one item (or key) one name, shared by the
//! object-store sink and the local file sink.
//!
//! - **A source item** `{source}/{item}` is one object, `{source}/{item}.{ext}`: the source
//!   id and the item id's folders as folders, the item's own name kept whole, extension
//!   included (`sensor-files/part-00.csv` → `sensor-files/part-00.csv.parquet`), so items
//!   `a.csv` and `a.json` of one source never collide, nor items of two sources.
//! - **A record stored on its own** (a key without an item, see
//!   [`super::open_items::item_of`]) names one object of its own: a key split on `/` into
//!   folders; an engine-shaped key `{source}/{item}#{batch}` names
//!   `{source}/{item}/part-{batch:05}.{ext}`, any other key `k` names `k.{ext}`.
//!
//! In each folder name only what would be unsafe or ambiguous is percent-encoded: `%`,
//! control characters (NUL included), a leading `.` (no hidden files: temp files start
//! with one), an empty, `.` or `..` segment, and, for a record's
//! own object, a leading `part-` of a last segment that is not a batch (so `x/part-00000`
//! and `x#0` differ). No name can climb out of the root: it has no `..`, no empty or
//! absolute segment. A record stored on its own under key `{source}/{item}` shares the name
//! of that item's object: keep keys of your own out of the engine's sources' names.

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

/// The object name (relative to the store's root) of the item whose records are keyed
/// `{path}#{batch}` (`path` is `{source}/{item}`), with `extension`.
pub(crate) fn item_object_name(path: &str, extension: &str) -> Result<String> {
    if path.trim().is_empty() {
        return Err(Error::validation("an item path must not be empty"));
    }
    let name = format!(
        "{}.{extension}",
        path.split('/').map(encode).collect::<Vec<_>>().join("/")
    );
    if name.len() > MAX_OBJECT_NAME {
        return Err(Error::validation(format!(
            "item {:?}… names an object of {} bytes; stores take at most {MAX_OBJECT_NAME}",
            path.chars().take(64).collect::<String>(),
            name.len()
        )));
    }
    Ok(name)
}

/// The item path (`{source}/{item}`) of an engine key `{source}/{item}#{batch}`.
pub(crate) fn item_path_of_key(key: &str) -> Option<&str> {
    let (path, _) = batch_suffix(key)?;
    path.contains('/').then_some(path)
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
            for (i, c) in segment.chars().enumerate() {
                // A leading `.` would hide the file (and temp files start with one).
                if c == '%' || c.is_control() || (i == 0 && c == '.') {
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
            "x/.a",
            "x/%2Ea",
            ".hidden",
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
    fn items_are_one_readable_object_each() {
        assert_eq!(
            item_object_name("sensor-files/part-00.csv", "parquet").unwrap(),
            "sensor-files/part-00.csv.parquet"
        );
        assert_eq!(
            item_object_name("raw/2024/01/readings.csv", "jsonl").unwrap(),
            "raw/2024/01/readings.csv.jsonl"
        );
        assert_eq!(
            item_path_of_key("raw/2024/a.csv#12"),
            Some("raw/2024/a.csv")
        );
        assert_eq!(item_path_of_key("a.csv#12"), None, "no source folder");
        assert_eq!(item_path_of_key("raw/a.csv"), None, "no batch");
    }

    #[test]
    fn hostile_item_names_stay_under_the_root() {
        for path in [
            "src/../../etc/passwd",
            "src//abs",
            "/abs/x",
            "src/./x",
            "src/..",
            "src/nul\0x",
            "src/a\nb",
            "..",
        ] {
            let name = item_object_name(path, "parquet").unwrap();
            let segments: Vec<&str> = name.split('/').collect();
            assert!(
                segments
                    .iter()
                    .all(|s| !s.is_empty() && *s != "." && *s != ".." && !s.contains('\0')),
                "{path:?} → {name:?}"
            );
            assert!(
                ::object_store::path::Path::parse(&name).is_ok(),
                "{name:?} is a valid object path"
            );
            let joined = std::path::Path::new("/root").join(&name);
            assert!(
                joined.components().all(|c| !matches!(
                    c,
                    std::path::Component::ParentDir | std::path::Component::CurDir
                )),
                "{name:?}"
            );
        }
        assert_eq!(
            item_object_name("src/../x", "parquet").unwrap(),
            "src/%2E%2E/x.parquet"
        );
    }

    #[test]
    fn prefixes_map_to_folders() {
        assert_eq!(folder_of_prefix("src/2024/a"), Some("src/2024".to_owned()));
        assert_eq!(folder_of_prefix("src/"), Some("src".to_owned()));
        assert_eq!(folder_of_prefix("src"), None);
    }
}
