//! Reading a data source's settings from a TOML, YAML or JSON file.

use std::path::Path;

use collectors_core::{Error, Metadata, Result};

/// The settings in a file: a flat mapping of keys to values (`aws_region: eu-west-1`), as
/// TOML (`.toml`), YAML (`.yaml`, `.yml`, through `serde-saphyr`: pure Rust, no unsafe
/// code, panic-free, with limits on aliases and sizes) or JSON (`.json`).
///
/// Which keys are valid is the connector's business: an unknown key is refused, by name,
/// when the connector is built from the settings.
///
/// ```
/// use collectors_backends::read_settings_file;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("s3.yaml");
/// std::fs::write(&path, "aws_region: eu-west-1\nallow_http: true\n").unwrap();
/// let settings = read_settings_file(&path).unwrap();
/// assert_eq!(settings["aws_region"], "eu-west-1");
/// assert_eq!(settings["allow_http"], true);
/// ```
///
/// # Errors
///
/// [`Error::Configuration`] naming the file and, for a syntax error, the line; the message
/// never quotes the file's text, which may hold a secret. Another extension is refused.
pub fn read_settings_file(path: &Path) -> Result<Metadata> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bad = |why: String| {
        Error::configuration(format!("settings file {}: {why}", path.display()))
            .with_operation("read settings")
    };
    let format = match extension.as_deref() {
        Some("toml") => Format::Toml,
        Some("yaml" | "yml") => Format::Yaml,
        Some("json") => Format::Json,
        _ => {
            return Err(bad(
                "the name must end in .toml, .yaml, .yml or .json".to_owned()
            ));
        }
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(format!("cannot read it: {e}")).with_source(e))?;
    parse_settings(&text, format).map_err(bad)
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Format {
    Toml,
    Yaml,
    Json,
}

const SHAPE: &str = "expected a mapping of setting names to values";

/// The settings in `text`; the error says where, never what.
pub(crate) fn parse_settings(text: &str, format: Format) -> std::result::Result<Metadata, String> {
    let value: serde_json::Value = match format {
        Format::Toml => toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            match line {
                Some(line) => format!("line {line}: not valid TOML ({SHAPE})"),
                None => format!("not valid TOML ({SHAPE})"),
            }
        })?,
        Format::Yaml => {
            if text.trim().is_empty() {
                return Ok(Metadata::new());
            }
            serde_saphyr::from_str(text).map_err(|e| match e.location() {
                Some(at) => format!("line {}: not valid YAML ({SHAPE})", at.line()),
                None => format!("not valid YAML ({SHAPE})"),
            })?
        }
        Format::Json => serde_json::from_str(text)
            .map_err(|e| format!("line {}: not valid JSON ({SHAPE})", e.line()))?,
    };
    match value {
        serde_json::Value::Object(map) => Ok(map),
        serde_json::Value::Null => Ok(Metadata::new()),
        _ => Err(SHAPE.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line_and_never_the_text() {
        for (text, format) in [
            ("aws_secret_access_key = \"hunter2\nx = 1", Format::Toml),
            ("a: b\n  aws_secret_access_key: [hunter2\n", Format::Yaml),
            ("{\"aws_secret_access_key\": hunter2}", Format::Json),
        ] {
            let err = parse_settings(text, format).unwrap_err();
            assert!(!err.contains("hunter2"), "{err}");
            assert!(err.contains("line"), "{err}");
        }
        let err = parse_settings("- hunter2\n", Format::Yaml).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn nested_values_and_empty_files() {
        let map = parse_settings(
            "service_account_key:\n  type: service_account\n  private_key: k\n",
            Format::Yaml,
        )
        .unwrap();
        assert_eq!(map["service_account_key"]["type"], "service_account");
        assert!(parse_settings("", Format::Yaml).unwrap().is_empty());
        assert!(parse_settings("", Format::Toml).unwrap().is_empty());
    }
}
