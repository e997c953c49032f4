//! [`ParsedMetadata`]: what a [`MetadataParser`](crate::MetadataParser) makes of an item.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::models::Metadata;

/// Metadata parsed out of a [`CollectedData`](crate::CollectedData) and checked against the
/// parser's rules.
///
/// `validation_errors` lists every rule the metadata breaks; it is valid when the list is empty.
///
/// ```
/// use collectors_core::ParsedMetadata;
///
/// let mut parsed = ParsedMetadata::new("sensor-1", "csv");
/// parsed.fields.insert("unit".into(), "celsius".into());
/// assert!(parsed.is_valid());
/// parsed.validation_errors.push("missing field `ts`".into());
/// assert!(!parsed.is_valid());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedMetadata {
    /// The source the item came from.
    pub source_id: String,
    /// The data format the parser recognised.
    pub data_format: String,
    /// The schema version, when the format carries one.
    #[serde(default)]
    pub schema_version: Option<String>,
    /// The parsed fields.
    #[serde(default)]
    pub fields: Metadata,
    /// Every rule the metadata breaks; empty when valid.
    #[serde(default)]
    pub validation_errors: Vec<String>,
    /// When it was parsed.
    pub parsed_at: DateTime<Utc>,
}

impl ParsedMetadata {
    /// Empty, valid metadata for a source and format, stamped now.
    pub fn new(source_id: impl Into<String>, data_format: impl Into<String>) -> Self {
        Self {
            source_id: source_id.into(),
            data_format: data_format.into(),
            schema_version: None,
            fields: Metadata::new(),
            validation_errors: Vec::new(),
            parsed_at: Utc::now(),
        }
    }

    /// Whether no rule is broken.
    pub fn is_valid(&self) -> bool {
        self.validation_errors.is_empty()
    }
}
