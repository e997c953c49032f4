//! Every model survives a serde round trip unchanged.

use std::sync::Arc;
use std::time::Duration;

use collectors_core::arrow_array::{Float64Array, RecordBatch};
use collectors_core::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "{json}");
}

#[test]
fn all_models_round_trip() {
    let table =
        RecordBatch::try_from_iter([("v", Arc::new(Float64Array::from(vec![1.0, f64::MAX])) as _)])
            .unwrap();
    round_trip(
        &CollectedData::new("s", "csv", "poll", vec![0u8, 159, 146, 150])
            .with_metadata("file", "a.csv"),
    );
    let mut parsed = ParsedMetadata::new("s", "csv");
    parsed.schema_version = Some("2".into());
    parsed.validation_errors.push("missing `ts`".into());
    round_trip(&parsed);

    let mut result =
        ProcessingResult::succeeded(Payload::Table(table.clone()), Duration::from_micros(1500));
    result.step_timings.push(StepTiming {
        processor: "p".into(),
        duration: Duration::from_nanos(7),
        outcome: StepOutcome::Succeeded,
    });
    round_trip(&result);
    let error = ErrorInfo::from(
        &Error::timeout("slow")
            .with_component("db")
            .with_operation("store"),
    )
    .with_detail("attempt", 3)
    .critical();
    round_trip(&ProcessingResult::failed(error.clone(), Duration::ZERO));
    round_trip(&error);

    round_trip(&StorageLocation::new("db", "k", "db/k"));
    round_trip(
        &QueryCriteria::new()
            .key_prefix("a/")
            .metadata("x", 1)
            .limit(5)
            .offset(2)
            .created_after(chrono::Utc::now()),
    );
    round_trip(
        &Record::keyed("k", Payload::Table(table))
            .unwrap()
            .with_metadata("m", true),
    );
    round_trip(
        &SystemEvent::new(EventType::DeadLettered, "engine")
            .with_data(serde_json::json!({"line": 4})),
    );

    let mut task = TaskInfo::new("t", "ingest");
    task.error = Some(error);
    task.result = Some(serde_json::json!({"rows": 1}));
    round_trip(&task);
    round_trip(
        &TaskFilter::new()
            .status(TaskStatus::Failed)
            .task_type("ingest")
            .limit(3),
    );
    round_trip(&DataItem::new("a.csv", "in/a.csv", 10));
    round_trip(
        &DataSourceConfig::new("ds", DataSourceType::AzureBlob, "Azure")
            .unwrap()
            .with_setting("container", "data"),
    );
    round_trip(
        &EventFilter::all()
            .event_type(EventType::TaskFailed)
            .source("x"),
    );
    round_trip(&ErrorPolicy::default());
    round_trip(&StorageRoute {
        when: RouteCondition::KeyPrefix("hot/".into()),
        backend_id: "hot".into(),
    });
    round_trip(&ListOptions::new().under("in").matching("*.csv"));
}

#[test]
fn enums_use_snake_case_names() {
    assert_eq!(
        serde_json::to_string(&CollectionStatus::Paused).unwrap(),
        "\"paused\""
    );
    assert_eq!(
        serde_json::to_string(&TaskStatus::Cancelled).unwrap(),
        "\"cancelled\""
    );
    assert_eq!(
        serde_json::to_string(&EventType::CollectionComplete).unwrap(),
        "\"collection_complete\""
    );
    assert_eq!(
        serde_json::to_string(&ErrorType::DataFetch).unwrap(),
        "\"data_fetch\""
    );
    assert_eq!(
        serde_json::to_string(&DataSourceType::AzureBlob).unwrap(),
        "\"azure_blob\""
    );
    assert!(serde_json::from_str::<TaskStatus>("\"exploded\"").is_err());
}

#[test]
fn malformed_configs_are_rejected_with_the_offending_field() {
    let unknown = serde_json::from_str::<QueryCriteria>(r#"{"limt": 3}"#).unwrap_err();
    assert!(unknown.to_string().contains("limt"), "{unknown}");
    let negative = serde_json::from_str::<ErrorPolicy>(
        r#"{"actions": {"timeout": {"retry": {"backoff": {"max_attempts": -2}}}}}"#,
    )
    .unwrap_err();
    assert!(negative.to_string().contains("-2"), "{negative}");
    let inverted =
        serde_json::from_str::<Backoff>(r#"{"initial_delay_ms": 5000, "max_delay_ms": 10}"#)
            .unwrap_err();
    assert!(
        inverted.to_string().contains("must not exceed"),
        "{inverted}"
    );
}
