//! `DataQuality`: statistics equal to the obvious computation, the same over many batches
//! and items (state checkpointed between items) as over one batch, reports as events.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use collectors_core::{
    ErrorType, EventBus, EventEmitter, EventFilter, EventType, ItemContext, Payload, Processor,
};
use collectors_processors::{ColumnType, DataQuality, DataQualityConfig, QUALITY_EVENT_KIND};
use serde_json::Value;

type Row = (Option<i64>, Option<f64>, Option<String>);

/// Seeded rows: ids with repeats, values with nulls, NaN and outliers, text numbers with
/// some that are not numbers.
fn rows(seed: u64, count: usize) -> Vec<Row> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count)
        .map(|i| {
            let id = (rng.u8(..20) != 0).then(|| if rng.u8(..10) == 0 { 0 } else { i as i64 });
            let value = match rng.u8(..20) {
                0 => None,
                1 => Some(f64::NAN),
                2 => Some(500.0 + rng.f64()),
                _ => Some((rng.f64() * 100.0).round() / 4.0),
            };
            let text = match rng.u8(..10) {
                0 => None,
                1 => Some("n/a".to_owned()),
                _ => Some(format!("{}", rng.i32(-50..50))),
            };
            (id, value, text)
        })
        .collect()
}

fn batch_of(rows: &[Row]) -> RecordBatch {
    let ids: Int64Array = rows.iter().map(|r| r.0).collect();
    let values: Float64Array = rows.iter().map(|r| r.1).collect();
    let text: StringArray = rows.iter().map(|r| r.2.as_deref()).collect();
    RecordBatch::try_from_iter([
        ("id", Arc::new(ids) as ArrayRef),
        ("value", Arc::new(values) as ArrayRef),
        ("reading", Arc::new(text) as ArrayRef),
    ])
    .unwrap()
}

fn config() -> DataQualityConfig {
    DataQualityConfig::new()
        .with_range("value", Some(0.0), Some(100.0))
        .with_type("reading", ColumnType::Float64)
        .with_unique("id")
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn column<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn statistics_equal_the_obvious_computation() {
    let rows = rows(3, 3000);
    let quality = DataQuality::new(config()).unwrap();
    block_on(quality.process(batch_of(&rows).into())).unwrap();
    let report = quality.report("").unwrap();

    let ids: Vec<i64> = rows.iter().filter_map(|r| r.0).collect();
    let distinct: HashSet<i64> = ids.iter().copied().collect();
    let id = column(&report, "id");
    assert_eq!(id["nulls"], (rows.len() - ids.len()) as u64);
    assert_eq!(id["distinct"], distinct.len() as u64);
    assert_eq!(id["duplicates"], (ids.len() - distinct.len()) as u64);

    let numbers: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.1)
        .filter(|v| !v.is_nan())
        .collect();
    let n = numbers.len() as f64;
    let mean = numbers.iter().sum::<f64>() / n;
    let variance = numbers.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let value = column(&report, "value");
    assert!(close(&value["mean"], mean), "{} vs {mean}", value["mean"]);
    assert!(close(&value["stddev"], variance.sqrt()));
    let min = numbers.iter().copied().fold(f64::INFINITY, f64::min);
    let max = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(value["min"], min);
    assert_eq!(value["max"], max);
    let nan = rows.iter().filter(|r| r.1.is_some_and(f64::is_nan)).count() as u64;
    assert_eq!(value["nan"], nan);
    let outside = numbers
        .iter()
        .filter(|v| !(0.0..=100.0).contains(*v))
        .count() as u64;
    assert!(outside > 0);
    assert_eq!(value["out_of_range"], outside);
    let nulls = rows.iter().filter(|r| r.1.is_none()).count() as u64;
    assert!(close(&value["null_rate"], nulls as f64 / rows.len() as f64));

    let reading = column(&report, "reading");
    let bad_text = rows
        .iter()
        .filter(|r| r.2.as_deref() == Some("n/a"))
        .count() as u64;
    assert!(bad_text > 0);
    assert_eq!(reading["type_errors"], bad_text, "{reading}");

    let bad = (rows.len() as u64 - ids.len() as u64)
        + (ids.len() - distinct.len()) as u64
        + nulls
        + nan
        + outside
        + rows.iter().filter(|r| r.2.is_none()).count() as u64
        + bad_text;
    let score = 1.0 - bad as f64 / (3 * rows.len()) as f64;
    assert!(
        close(&report["score"], score),
        "{} vs {score}",
        report["score"]
    );
}

#[test]
fn many_batches_and_items_equal_one_batch() {
    let rows = rows(5, 2500);
    let whole = DataQuality::new(config()).unwrap();
    block_on(whole.process(batch_of(&rows).into())).unwrap();
    let mut expected = whole.report("").unwrap();

    let mut rng = fastrand::Rng::with_seed(11);
    let mut quality = DataQuality::new(config()).unwrap();
    let mut start = 0;
    let mut item = 0;
    let mut last = None;
    while start < rows.len() {
        let item_id = format!("part-{item:02}");
        for batch_index in 0..rng.u64(1..4) {
            let size = rng.usize(1..300).min(rows.len() - start);
            if size == 0 {
                break;
            }
            let context = ItemContext {
                source_id: "s".into(),
                item_id: item_id.clone(),
                batch_index,
            };
            let input = batch_of(&rows[start..start + size]);
            let out = block_on(quality.process_in(&context, input.clone().into())).unwrap();
            assert_eq!(out, Payload::Table(input));
            start += size;
            last = Some(context);
        }
        quality.finish_item(&item_id);
        let state = quality.save_state("s").unwrap();
        quality = DataQuality::new(config()).unwrap();
        quality.restore_state("s", state).unwrap();
        item += 1;
    }
    assert!(item > 3);
    let mut report = quality.report("s").unwrap();
    let last = last.unwrap();
    assert_eq!(report["item_id"], last.item_id.as_str());
    for r in [&mut report, &mut expected] {
        let fields = r.as_object_mut().unwrap();
        for key in ["source_id", "item_id", "batch_index"] {
            fields.remove(key);
        }
    }
    // Merged moments differ from one pass in the last bits only.
    let (got_value, want_value) = (
        column(&report, "value").clone(),
        column(&expected, "value").clone(),
    );
    for key in ["mean", "stddev"] {
        assert!(
            close(&got_value[key], want_value[key].as_f64().unwrap()),
            "{key}"
        );
    }
    for r in [&mut report, &mut expected] {
        for c in r["columns"].as_array_mut().unwrap() {
            let c = c.as_object_mut().unwrap();
            c.remove("mean");
            c.remove("stddev");
        }
    }
    assert_eq!(report, expected);
}

#[test]
fn reports_are_events_on_the_bus() {
    let bus = Arc::new(EventBus::new());
    let quality = DataQuality::new(config().with_report_every_rows(150))
        .unwrap()
        .named("quality")
        .with_events(bus.clone() as Arc<dyn EventEmitter>);
    block_on(async {
        let mut events = bus
            .subscribe(
                EventFilter::all()
                    .event_type(EventType::Custom)
                    .source("quality"),
            )
            .await
            .unwrap();
        let rows = rows(8, 400);
        for (i, chunk) in rows.chunks(100).enumerate() {
            let context = ItemContext {
                source_id: "s".into(),
                item_id: "a".into(),
                batch_index: i as u64,
            };
            quality
                .process_in(&context, batch_of(chunk).into())
                .await
                .unwrap();
        }
        // After 200 and 400 rows.
        let first = events.try_recv().unwrap();
        assert_eq!(first.data["kind"], QUALITY_EVENT_KIND);
        assert_eq!(first.data["report"]["rows"], 200);
        let second = events.try_recv().unwrap();
        assert_eq!(second.data["report"]["rows"], 400);
        assert_eq!(second.data["report"]["batch_index"], 3);
        assert!(events.try_recv().is_none());
    });
}

#[test]
fn bad_configuration_and_input_are_typed_errors() {
    for config in [
        r#"{"ranges": {"v": {"min": 2, "max": 1}}}"#,
        r#"{"report_every_rows": 0}"#,
        r#"{"unique": [""]}"#,
    ] {
        let config: DataQualityConfig = serde_json::from_str(config).unwrap();
        let err = DataQuality::new(config).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration, "{err}");
    }
    assert!(serde_json::from_str::<DataQualityConfig>(r#"{"range": {}}"#).is_err());

    let quality =
        DataQuality::new(DataQualityConfig::new().with_range("reading", Some(0.0), None)).unwrap();
    let rows = rows(1, 10);
    // `reading` is text: a range needs a numeric type.
    let err = block_on(quality.process(batch_of(&rows).into())).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
    assert!(err.to_string().contains("reading"), "{err}");
    let missing = DataQuality::new(DataQualityConfig::new().with_unique("nope")).unwrap();
    let err = block_on(missing.process(batch_of(&rows).into())).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    assert!(block_on(missing.process(Payload::Json(1.into()))).is_err());

    // An empty batch is a report of nothing, score 1.
    let empty = DataQuality::new(DataQualityConfig::new()).unwrap();
    block_on(empty.process(batch_of(&[]).into())).unwrap();
    assert_eq!(empty.report("").unwrap()["score"], 1.0);
    let err = empty
        .restore_state("s", Some(serde_json::json!([1])))
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::InvalidState);
}
