//! Record keys as file names: a reversible percent-encoding that can name no other place.

/// The longest file name most file systems accept (ext4, XFS, APFS, NTFS: 255 bytes).
const MAX_FILE_NAME: usize = 255;

/// Whether `byte` is kept as is in an encoded name.
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-')
}

/// Encodes `key` as one file name without its extension: every byte outside
/// `[A-Za-z0-9._-]`, and a leading `.`, becomes `%XX` (upper-case hex).
///
/// The result holds no `/`, `\`, NUL or other separator, and never starts with `.`, so it is
/// never `.` or `..`, never hidden, and never mistaken for a temp file (those start with `.`).
pub(crate) fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, &byte) in key.as_bytes().iter().enumerate() {
        if is_plain(byte) && !(i == 0 && byte == b'.') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(hex_digit(byte >> 4));
            out.push(hex_digit(byte & 0x0f));
        }
    }
    out
}

/// The file name of `key` with `extension`, or why there is none (empty, too long).
pub(crate) fn file_name(key: &str, extension: &str) -> Result<String, String> {
    if key.is_empty() {
        return Err("a record key must not be empty".to_owned());
    }
    let name = format!("{}.{extension}", encode_key(key));
    if name.len() > MAX_FILE_NAME {
        return Err(format!(
            "record key {:?} is too long for a file name: encoded it takes {} bytes, at most \
             {MAX_FILE_NAME} fit (every byte outside [A-Za-z0-9._-] takes 3)",
            truncate(key, 64),
            name.len()
        ));
    }
    Ok(name)
}

/// The key a file name stands for, if the name is one [`file_name`] produces for
/// `extension`; `None` for anything else (temp files, foreign files, non-canonical
/// encodings), which the sink ignores.
pub(crate) fn key_of(file_name: &str, extension: &str) -> Option<String> {
    let encoded = file_name.strip_suffix(extension)?.strip_suffix('.')?;
    if encoded.is_empty() {
        return None;
    }
    let raw = encoded.as_bytes();
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let high = hex_value(*raw.get(i + 1)?)?;
            let low = hex_value(*raw.get(i + 2)?)?;
            bytes.push(high << 4 | low);
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    let key = String::from_utf8(bytes).ok()?;
    // One key, one name: `a%2Db` or `%61` are not names this sink wrote.
    (encode_key(&key) == encoded).then_some(key)
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789ABCDEF"[usize::from(nibble & 0x0f)])
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// At most `max` characters of `s`, for messages.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_stay_readable() {
        assert_eq!(encode_key("sensor-files_2024.csv"), "sensor-files_2024.csv");
        assert_eq!(
            encode_key("sensor-files/a.csv#0"),
            "sensor-files%2Fa.csv%230"
        );
    }

    #[test]
    fn hostile_keys_become_one_plain_name() {
        for key in [
            "..",
            ".",
            "../../etc/passwd",
            "/abs",
            "a\\b",
            "nul\0",
            ".hidden",
            "é/ü",
        ] {
            let name = file_name(key, "jsonl").unwrap();
            assert!(!name.contains('/') && !name.contains('\\') && !name.contains('\0'));
            assert!(!name.starts_with('.'), "{name}");
            assert_eq!(key_of(&name, "jsonl").as_deref(), Some(key), "{name}");
        }
        assert_eq!(encode_key(".."), "%2E.");
    }

    #[test]
    fn only_canonical_names_decode() {
        assert_eq!(key_of("a.jsonl", "jsonl").as_deref(), Some("a"));
        assert_eq!(key_of("a.parquet", "jsonl"), None);
        assert_eq!(key_of("%61.jsonl", "jsonl"), None, "over-encoded");
        assert_eq!(key_of("a%2f.jsonl", "jsonl"), None, "lower-case hex");
        assert_eq!(key_of("a%2.jsonl", "jsonl"), None, "truncated escape");
        assert_eq!(key_of("%FF.jsonl", "jsonl"), None, "not UTF-8");
        assert_eq!(key_of(".jsonl", "jsonl"), None);
        assert_eq!(key_of(".a.jsonl.0123.tmp", "jsonl"), None, "a temp file");
        assert_eq!(key_of("a b.jsonl", "jsonl"), None, "a foreign file");
    }

    #[test]
    fn empty_and_overlong_keys_have_no_name() {
        assert!(file_name("", "jsonl").is_err());
        assert!(file_name(&"a".repeat(249), "jsonl").is_ok());
        assert!(file_name(&"a".repeat(250), "jsonl").is_err());
        assert!(file_name(&"/".repeat(90), "jsonl").is_err());
    }
}
