//! [`Payload`]: the data that moves between processors and into stores.

use std::io::Cursor;

use arrow_array::RecordBatch;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The data an item carries through the processing layer and into storage.
///
/// Three shapes cover what pipelines move:
/// - [`Payload::Bytes`]: opaque bytes, e.g. an undecoded file (`Bytes` is reference counted, so
///   clones and slices are free);
/// - [`Payload::Json`]: one document, e.g. an analysis result;
/// - [`Payload::Table`]: tabular data as an Arrow [`RecordBatch`], columnar, so processors run
///   Arrow compute kernels over whole columns and stores bulk-load it; rows are never copied
///   into maps. Cloning a batch clones `Arc`s, not buffers.
///
/// Serialized (dead letters, task results, the REST API), a table travels as an Arrow IPC
/// stream inside the document, so the schema and every value survive the round trip.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch};
/// use collectors_core::Payload;
///
/// let batch = RecordBatch::try_from_iter([(
///     "value",
///     Arc::new(Float64Array::from(vec![1.0, 2.5])) as _,
/// )])
/// .unwrap();
/// let payload = Payload::Table(batch);
/// assert_eq!(payload.num_rows(), Some(2));
///
/// let json = serde_json::to_string(&payload).unwrap();
/// let back: Payload = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, payload);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Payload {
    /// Nothing (an item filtered to nothing, a side-effect-only step).
    Empty,
    /// Opaque bytes.
    Bytes(Bytes),
    /// One JSON document.
    Json(serde_json::Value),
    /// A batch of rows in Arrow's columnar layout.
    #[serde(with = "arrow_ipc_serde")]
    Table(RecordBatch),
}

/// The shape of a [`Payload`], without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadKind {
    /// [`Payload::Empty`].
    Empty,
    /// [`Payload::Bytes`].
    Bytes,
    /// [`Payload::Json`].
    Json,
    /// [`Payload::Table`].
    Table,
}

impl Payload {
    /// The shape of this payload.
    pub fn kind(&self) -> PayloadKind {
        match self {
            Payload::Empty => PayloadKind::Empty,
            Payload::Bytes(_) => PayloadKind::Bytes,
            Payload::Json(_) => PayloadKind::Json,
            Payload::Table(_) => PayloadKind::Table,
        }
    }

    /// The number of rows of a table, `None` for other shapes.
    pub fn num_rows(&self) -> Option<usize> {
        match self {
            Payload::Table(batch) => Some(batch.num_rows()),
            _ => None,
        }
    }

    /// The bytes, or a validation error naming the shape found.
    pub fn as_bytes(&self) -> Result<&Bytes> {
        match self {
            Payload::Bytes(bytes) => Ok(bytes),
            other => Err(other.wrong_kind(PayloadKind::Bytes)),
        }
    }

    /// The JSON document, or a validation error naming the shape found.
    pub fn as_json(&self) -> Result<&serde_json::Value> {
        match self {
            Payload::Json(value) => Ok(value),
            other => Err(other.wrong_kind(PayloadKind::Json)),
        }
    }

    /// The record batch, or a validation error naming the shape found.
    pub fn as_table(&self) -> Result<&RecordBatch> {
        match self {
            Payload::Table(batch) => Ok(batch),
            other => Err(other.wrong_kind(PayloadKind::Table)),
        }
    }

    /// An estimate of the memory the payload holds, in bytes.
    pub fn size_bytes(&self) -> usize {
        match self {
            Payload::Empty => 0,
            Payload::Bytes(bytes) => bytes.len(),
            Payload::Json(value) => value.to_string().len(),
            Payload::Table(batch) => batch.get_array_memory_size(),
        }
    }

    fn wrong_kind(&self, wanted: PayloadKind) -> Error {
        Error::validation(format!(
            "expected a {wanted:?} payload, got {:?}",
            self.kind()
        ))
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Payload::Json(value)
    }
}

impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Payload::Bytes(bytes)
    }
}

impl From<RecordBatch> for Payload {
    fn from(batch: RecordBatch) -> Self {
        Payload::Table(batch)
    }
}

/// Encodes a record batch as an Arrow IPC stream (schema + one batch) and back.
pub(crate) mod arrow_ipc_serde {
    use super::*;
    use arrow_ipc::reader::StreamReader;
    use arrow_ipc::writer::StreamWriter;
    use serde::{Deserializer, Serializer, de, ser};

    /// The IPC stream bytes of one batch.
    pub(crate) fn encode(
        batch: &RecordBatch,
    ) -> std::result::Result<Vec<u8>, arrow_schema::ArrowError> {
        let mut writer = StreamWriter::try_new(Vec::new(), batch.schema_ref())?;
        writer.write(batch)?;
        writer.finish()?;
        writer.into_inner()
    }

    /// The one batch of an IPC stream.
    pub(crate) fn decode(bytes: &[u8]) -> std::result::Result<RecordBatch, String> {
        let mut reader =
            StreamReader::try_new(Cursor::new(bytes), None).map_err(|e| e.to_string())?;
        match reader.next() {
            Some(batch) => batch.map_err(|e| e.to_string()),
            None => Err("arrow IPC stream holds no record batch".to_owned()),
        }
    }

    pub(crate) fn serialize<S: Serializer>(
        batch: &RecordBatch,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let bytes = encode(batch).map_err(ser::Error::custom)?;
        serializer.serialize_bytes(&bytes)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<RecordBatch, D::Error> {
        let bytes = Bytes::deserialize(deserializer)?;
        decode(&bytes).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};

    #[test]
    fn every_shape_round_trips_through_json() {
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
            (
                "name",
                Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])) as _,
            ),
        ])
        .unwrap();
        for payload in [
            Payload::Empty,
            Payload::Bytes(Bytes::from_static(b"\x00\xffraw")),
            Payload::Json(serde_json::json!({"a": [1, 2]})),
            Payload::Table(batch),
        ] {
            let text = serde_json::to_string(&payload).unwrap();
            let back: Payload = serde_json::from_str(&text).unwrap();
            assert_eq!(back, payload);
        }
    }

    #[test]
    fn corrupt_table_bytes_are_an_error_not_a_panic() {
        let text = r#"{"kind":"table","data":[1,2,3,4]}"#;
        assert!(serde_json::from_str::<Payload>(text).is_err());
    }

    #[test]
    fn wrong_shape_is_a_validation_error() {
        let err = Payload::Json(serde_json::json!(1)).as_table().unwrap_err();
        assert_eq!(err.error_type(), crate::ErrorType::Validation);
    }
}
