//! [`MockMetadataParser`].

use async_trait::async_trait;
use collectors_core::{CollectedData, Error, MetadataParser, ParsedMetadata, Result};

use crate::control::MockControl;

/// A [`MetadataParser`] that copies an item's metadata into the parsed fields and requires a
/// configurable set of fields to be present.
///
/// ```
/// use collectors_core::{CollectedData, MetadataParser};
/// use collectors_mocks::MockMetadataParser;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let parser = MockMetadataParser::new().require("unit");
/// let item = CollectedData::new("s", "csv", "poll", "1");
/// let parsed = parser.parse(&item).await.unwrap();
/// assert_eq!(parsed.validation_errors, vec!["missing field `unit`".to_string()]);
/// assert!(parser.validate(&parsed).await.is_err());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MockMetadataParser {
    required: Vec<String>,
    control: MockControl,
}

impl MockMetadataParser {
    /// A parser that requires nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires a metadata field.
    #[must_use]
    pub fn require(mut self, field: impl Into<String>) -> Self {
        self.required.push(field.into());
        self
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl MetadataParser for MockMetadataParser {
    async fn parse(&self, data: &CollectedData) -> Result<ParsedMetadata> {
        self.control.enter("parse", data.id.to_string()).await?;
        let mut parsed = ParsedMetadata::new(&data.source_id, &data.data_format);
        parsed.fields = data.metadata.clone();
        parsed.validation_errors = self
            .required
            .iter()
            .filter(|f| !data.metadata.contains_key(f.as_str()))
            .map(|f| format!("missing field `{f}`"))
            .collect();
        Ok(parsed)
    }

    async fn validate(&self, metadata: &ParsedMetadata) -> Result<()> {
        self.control.enter("validate", &metadata.source_id).await?;
        if metadata.is_valid() {
            Ok(())
        } else {
            Err(Error::validation(metadata.validation_errors.join("; "))
                .with_component(&metadata.source_id)
                .with_operation("validate"))
        }
    }
}
