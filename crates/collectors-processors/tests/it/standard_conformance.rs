//! `map`, `peak_detection`, `data_quality` and `validate` meet the shared processor contract
//! (`collectors_core::conformance::processor`).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use collectors_core::Payload;
use collectors_core::conformance;
use collectors_processors::{
    ColumnRule, ColumnType, DataQuality, DataQualityConfig, Interval, Map, MapConfig,
    PeakDetection, PeakDetectionConfig, Validate, ValidateConfig,
};

fn valid() -> Payload {
    RecordBatch::try_from_iter([
        (
            "sensor",
            Arc::new(StringArray::from(vec!["a", "a", "b", "a", "b"])) as ArrayRef,
        ),
        (
            "value",
            Arc::new(Float64Array::from(vec![1.0, 3.0, 2.0, 1.0, 0.0])) as ArrayRef,
        ),
    ])
    .unwrap()
    .into()
}

fn invalid() -> Option<Payload> {
    Some(Payload::Bytes("not a table".into()))
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn the_new_processors_meet_the_processor_contract() {
    let map = Map::new(MapConfig::new().with_derived("twice", "value * 2")).unwrap();
    let peaks = PeakDetection::new(
        PeakDetectionConfig::new(Some("sensor"), "value").with_prominence(Interval::Min(0.5)),
    )
    .unwrap();
    let quality = DataQuality::new(DataQualityConfig::new()).unwrap();
    let validate = Validate::new(
        ValidateConfig::new().with_column(ColumnRule::new("value").with_type(ColumnType::Float64)),
    )
    .unwrap();
    block_on(async {
        conformance::processor(&map, valid(), invalid()).await;
        conformance::processor(&peaks, valid(), invalid()).await;
        conformance::processor(&quality, valid(), invalid()).await;
        conformance::processor(&validate, valid(), invalid()).await;
    });
}
