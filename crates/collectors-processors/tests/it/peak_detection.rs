//! `PeakDetection` against `scipy.signal.find_peaks`: the fixtures in
//! `tests/fixtures/peaks.json` were produced by SciPy with `tests/fixtures/peaks.py`
//! (`scripts/test` re-runs it with `--check`), and the processor must give the same indices
//! and properties (within 1e-9) on one whole batch, and on the series cut into many batches
//! and items with its state checkpointed and restored between items.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use collectors_core::{ErrorType, ItemContext, Payload, Processor};
use collectors_processors::{Interval, PeakDetection, PeakDetectionConfig};
use serde_json::Value;

const FIXTURES: &str = include_str!("../fixtures/peaks.json");

fn number(value: &Value) -> f64 {
    match value {
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        other => other.as_f64().expect("a number"),
    }
}

struct Case {
    name: String,
    params: serde_json::Map<String, Value>,
    keys: Option<Vec<String>>,
    values: Vec<f64>,
    /// Per key ("" without keys): column -> values.
    expected: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
}

fn cases() -> Vec<Case> {
    let doc: Value = serde_json::from_str(FIXTURES).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let keys = case["rows"]["key"].as_array().map(|keys| {
                keys.iter()
                    .map(|k| k.as_str().unwrap().to_owned())
                    .collect()
            });
            let values = case["rows"]["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(number)
                .collect();
            let expected = case["expected"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(key, columns)| {
                    let columns = columns
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(name, values)| {
                            (
                                name.clone(),
                                values.as_array().unwrap().iter().map(number).collect(),
                            )
                        })
                        .collect();
                    (key.clone(), columns)
                })
                .collect();
            Case {
                name: case["name"].as_str().unwrap().to_owned(),
                params: case["params"].as_object().unwrap().clone(),
                keys,
                values,
                expected,
            }
        })
        .collect()
}

fn detector(case: &Case) -> PeakDetection {
    let mut config = case.params.clone();
    config.insert("value".into(), "value".into());
    if case.keys.is_some() {
        config.insert("key".into(), "sensor".into());
    }
    let config: PeakDetectionConfig = serde_json::from_value(Value::Object(config)).unwrap();
    PeakDetection::new(config).unwrap()
}

/// Rows `range` of the case as a batch; every third NaN becomes a null (the same to SciPy).
fn batch(case: &Case, range: std::ops::Range<usize>) -> RecordBatch {
    let values: Float64Array = case.values[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, v)| (!(v.is_nan() && (range.start + i).is_multiple_of(3))).then_some(*v))
        .collect();
    let mut columns = vec![("value", Arc::new(values) as ArrayRef)];
    if let Some(keys) = &case.keys {
        let keys: StringArray = keys[range].iter().map(|k| Some(k.as_str())).collect();
        columns.push(("sensor", Arc::new(keys) as ArrayRef));
    }
    RecordBatch::try_from_iter(columns).unwrap()
}

/// Output tables -> per key, column -> values.
fn collect(outputs: &[Payload], keyed: bool) -> BTreeMap<String, BTreeMap<String, Vec<f64>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for output in outputs {
        let table = output.as_table().unwrap();
        for row in 0..table.num_rows() {
            let key = if keyed {
                table
                    .column_by_name("sensor")
                    .unwrap()
                    .as_string::<i32>()
                    .value(row)
                    .to_owned()
            } else {
                String::new()
            };
            let columns = out.entry(key).or_default();
            for field in table.schema().fields() {
                let column = table.column_by_name(field.name()).unwrap();
                let value = match field.data_type() {
                    DataType::UInt64 => column.as_primitive::<UInt64Type>().value(row) as f64,
                    DataType::Float64 => column.as_primitive::<Float64Type>().value(row),
                    _ => continue,
                };
                columns.entry(field.name().clone()).or_default().push(value);
            }
        }
    }
    // Across tables, a peak that waited for its right base comes after later ones.
    for columns in out.values_mut() {
        let mut order: Vec<usize> = (0..columns["index"].len()).collect();
        order.sort_by(|&a, &b| columns["index"][a].total_cmp(&columns["index"][b]));
        for values in columns.values_mut() {
            *values = order.iter().map(|&i| values[i]).collect();
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9
}

fn assert_matches(case: &Case, how: &str, got: &BTreeMap<String, BTreeMap<String, Vec<f64>>>) {
    for (key, expected) in &case.expected {
        let empty = BTreeMap::new();
        let columns = got.get(key).unwrap_or(&empty);
        let got_index = columns.get("index").cloned().unwrap_or_default();
        assert_eq!(
            got_index, expected["index"],
            "{} ({how}), key {key:?}: indices differ from SciPy's",
            case.name
        );
        for (name, want) in expected {
            let have = columns.get(name).cloned().unwrap_or_default();
            assert_eq!(
                have.len(),
                want.len(),
                "{} ({how}): column {name}",
                case.name
            );
            for (i, (h, w)) in have.iter().zip(want).enumerate() {
                assert!(
                    close(*h, *w),
                    "{} ({how}), key {key:?}, peak {} ({name}): {h} != SciPy's {w}",
                    case.name,
                    expected["index"][i]
                );
            }
        }
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        case.expected.keys().collect::<Vec<_>>(),
        "{} ({how}): keys",
        case.name
    );
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn one_whole_batch_equals_scipy() {
    for case in cases() {
        let peaks = detector(&case);
        let out = block_on(peaks.process(batch(&case, 0..case.values.len()).into())).unwrap();
        assert_matches(&case, "one batch", &collect(&[out], case.keys.is_some()));
    }
}

/// Cuts the case into batches of 1..=`max_batch` rows over `items` items, checkpointing the
/// state after each item and restoring it into a fresh processor, as a rerun would.
fn streamed(case: &Case, seed: u64, max_batch: usize, items: usize) -> Vec<Payload> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let len = case.values.len();
    let mut cuts: Vec<usize> = (0..items - 1).map(|_| rng.usize(0..=len)).collect();
    cuts.push(len);
    cuts.sort_unstable();
    let mut outputs = Vec::new();
    let mut peaks = detector(case);
    let mut start = 0;
    for (item, end) in cuts.into_iter().enumerate() {
        let context = |batch_index| ItemContext {
            source_id: "source".into(),
            item_id: format!("part-{item:02}"),
            batch_index,
        };
        let mut batch_index = 0;
        while start < end {
            let size = rng.usize(1..=max_batch).min(end - start);
            let input = batch(case, start..start + size);
            outputs.push(block_on(peaks.process_in(&context(batch_index), input.into())).unwrap());
            batch_index += 1;
            start += size;
        }
        peaks.finish_item(&context(0).item_id);
        let state = peaks.save_state("source").unwrap();
        let state = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        peaks = detector(case);
        peaks.restore_state("source", state).unwrap();
    }
    outputs.push(peaks.finish("source").unwrap());
    outputs
}

#[test]
fn many_batches_and_items_equal_scipy() {
    for case in cases() {
        for (seed, max_batch, items) in [(1, 1, 3), (2, 7, 5), (3, 64, 2), (4, 1000, 4), (5, 3, 1)]
        {
            let outputs = streamed(&case, seed, max_batch, items);
            let how = format!("batches of 1..={max_batch}, {items} items, seed {seed}");
            assert_matches(&case, &how, &collect(&outputs, case.keys.is_some()));
        }
    }
}

#[test]
fn peaks_come_out_once_decided() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "walk_prominence_width")
        .unwrap();
    let outputs = streamed(&case, 9, 50, 3);
    let before_end: usize = outputs[..outputs.len() - 1]
        .iter()
        .map(|o| o.num_rows().unwrap())
        .sum();
    let total = case.expected[""]["index"].len();
    // Most peaks are decided as the data goes; the last ones wait for the end.
    assert!(
        before_end > total / 2,
        "{before_end} of {total} before the end"
    );
    assert!(before_end < total);
    for output in &outputs {
        let table = output.as_table().unwrap();
        let index = table
            .column_by_name("index")
            .unwrap()
            .as_primitive::<UInt64Type>();
        assert!(
            index.values().windows(2).all(|w| w[0] < w[1]),
            "not in series order"
        );
    }
}

#[test]
fn integer_values_and_keys_are_read_as_numbers() {
    let values = Int32Array::from(vec![0, 5, 0, 7, 7, 1, 3, 2, 9, 0]);
    let keys = Int32Array::from(vec![1, 1, 1, 2, 1, 2, 1, 2, 2, 2]);
    let batch = RecordBatch::try_from_iter([
        ("v", Arc::new(values) as ArrayRef),
        ("k", Arc::new(keys) as ArrayRef),
    ])
    .unwrap();
    let peaks = PeakDetection::new(PeakDetectionConfig::new(Some("k"), "v")).unwrap();
    let out = block_on(peaks.process(batch.into())).unwrap();
    let table = out.as_table().unwrap();
    // key 1: [0, 5, 0, 7, 3] -> peaks at 1 and 3; key 2: [7, 1, 2, 9, 0] -> peak at 3.
    let keys = table.column_by_name("k").unwrap();
    assert_eq!(keys.data_type(), &DataType::Int64);
    let keys: Vec<i64> = keys
        .as_primitive::<arrow_array::types::Int64Type>()
        .values()
        .to_vec();
    assert_eq!(keys, vec![1, 1, 2]);
    let index = table
        .column_by_name("index")
        .unwrap()
        .as_primitive::<UInt64Type>();
    assert_eq!(index.values().as_ref(), &[1, 3, 3]);
}

#[test]
fn bad_parameters_and_input_are_typed_errors() {
    let bad = [
        r#"{"value": "v", "distance": 0.5}"#,
        r#"{"value": "v", "rel_height": -1}"#,
        r#"{"value": ""}"#,
        r#"{"value": "v", "key": "index"}"#,
    ];
    for config in bad {
        let config: PeakDetectionConfig = serde_json::from_str(config).unwrap();
        let err = PeakDetection::new(config).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration, "{err}");
        assert!(err.to_string().contains('`'), "{err}");
    }
    assert!(
        serde_json::from_str::<PeakDetectionConfig>(r#"{"value": "v", "height": "x"}"#).is_err()
    );

    let peaks = PeakDetection::new(
        PeakDetectionConfig::new(Some("k"), "v").with_height(Interval::Min(0.0)),
    )
    .unwrap();
    let text =
        RecordBatch::try_from_iter([("v", Arc::new(StringArray::from(vec!["a"])) as ArrayRef)])
            .unwrap();
    for input in [Payload::Table(text), Payload::Json(1.into())] {
        let err = block_on(peaks.process(input.clone())).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
        assert!(peaks.validate_input(&input).is_err());
    }
    let no_key =
        RecordBatch::try_from_iter([("v", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef)])
            .unwrap();
    let err = block_on(peaks.process(no_key.into())).unwrap_err();
    assert!(err.to_string().contains("\"k\""), "{err}");

    let empty = RecordBatch::try_from_iter([
        (
            "v",
            Arc::new(Float64Array::from(Vec::<f64>::new())) as ArrayRef,
        ),
        (
            "k",
            Arc::new(StringArray::from(Vec::<&str>::new())) as ArrayRef,
        ),
    ])
    .unwrap();
    let out = block_on(peaks.process(empty.into())).unwrap();
    assert_eq!(out.num_rows(), Some(0));
    let err = peaks
        .restore_state("s", Some(serde_json::json!({"series": 3})))
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::InvalidState);
}

#[test]
fn per_item_series_start_afresh() {
    let peaks =
        PeakDetection::new(PeakDetectionConfig::new(None, "v").with_per_item(true)).unwrap();
    let batch = |values: Vec<f64>| -> Payload {
        RecordBatch::try_from_iter([("v", Arc::new(Float64Array::from(values)) as ArrayRef)])
            .unwrap()
            .into()
    };
    let context = |item: &str| ItemContext {
        source_id: "s".into(),
        item_id: item.into(),
        batch_index: 0,
    };
    // Across items [0, 1] + [0] would be a peak at 1; per item it is not decided by `a`.
    let out = block_on(peaks.process_in(&context("a"), batch(vec![0.0, 1.0]))).unwrap();
    assert_eq!(out.num_rows(), Some(0));
    let out = block_on(peaks.process_in(&context("b"), batch(vec![0.0, 2.0, 1.0]))).unwrap();
    let index = out
        .as_table()
        .unwrap()
        .column_by_name("index")
        .unwrap()
        .as_primitive::<UInt64Type>()
        .values()
        .to_vec();
    assert_eq!(index, vec![1]);
    assert_eq!(peaks.state_scope(), collectors_core::StateScope::Item);
    assert_eq!(peaks.save_state("s").unwrap(), None);
    peaks.finish_item("a");
    assert!(peaks.samples_seen("a").is_empty());
    assert_eq!(peaks.samples_seen("b"), vec![3]);
}

#[test]
fn the_state_stays_small_on_a_long_noisy_series() {
    let peaks = PeakDetection::new(
        PeakDetectionConfig::new(Some("sensor"), "value")
            .with_prominence(Interval::Min(0.5))
            .with_width(Interval::Min(1.0))
            .with_distance(5.0),
    )
    .unwrap();
    let mut rng = fastrand::Rng::with_seed(21);
    let mut emitted = 0;
    for batch_index in 0..50 {
        let rows = 2000;
        let sensors: StringArray = (0..rows).map(|i| Some(["a", "b"][i % 2])).collect();
        let values: Float64Array = (0..rows).map(|_| Some(rng.f64() * 10.0)).collect();
        let input = RecordBatch::try_from_iter([
            ("sensor", Arc::new(sensors) as ArrayRef),
            ("value", Arc::new(values) as ArrayRef),
        ])
        .unwrap();
        let context = ItemContext {
            source_id: "source".into(),
            item_id: "long".into(),
            batch_index,
        };
        emitted += block_on(peaks.process_in(&context, input.into()))
            .unwrap()
            .num_rows()
            .unwrap();
    }
    assert_eq!(peaks.samples_seen("source"), vec![50_000, 50_000]);
    assert!(emitted > 5_000, "{emitted} peaks emitted");
    // 100 000 samples seen; what is kept is a few chains and the undecided peaks.
    let state = peaks.save_state("source").unwrap().unwrap();
    let text = serde_json::to_string(&state).unwrap();
    let series = &state["series"][0][1];
    let sizes: Vec<(String, usize)> = series
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_string(v).unwrap().len()))
        .collect();
    assert!(
        text.len() < 64 * 1024,
        "state of {} bytes: {sizes:?}",
        text.len()
    );
}

/// Any cut of a series into batches and items gives the peaks of the whole series, for
/// random parameters on data full of plateaus, ties, NaN and infinities.
#[test]
fn any_cut_gives_the_peaks_of_the_whole_series() {
    let mut rng = fastrand::Rng::with_seed(99);
    for round in 0..60 {
        let len = rng.usize(0..400);
        let values: Vec<f64> = (0..len)
            .map(|_| match rng.u8(..40) {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                _ => f64::from(rng.i32(-4..5)) / 2.0,
            })
            .collect();
        let keys: Vec<String> = (0..len).map(|_| format!("k{}", rng.u8(..2))).collect();
        let mut params = serde_json::Map::new();
        if rng.bool() {
            params.insert("height".into(), serde_json::json!(-1));
        }
        if rng.bool() {
            params.insert("distance".into(), serde_json::json!(rng.u8(1..8)));
        }
        if rng.bool() {
            params.insert("prominence".into(), serde_json::json!([0.5, null]));
        }
        if rng.bool() {
            params.insert("width".into(), serde_json::json!([null, 6]));
            params.insert("rel_height".into(), serde_json::json!(rng.f64() * 1.5));
        }
        if rng.bool() {
            params.insert("threshold".into(), serde_json::json!(0));
        }
        if rng.bool() {
            params.insert("plateau_size".into(), serde_json::json!([1, 3]));
        }
        let case = Case {
            name: format!("random round {round} {params:?}"),
            params,
            keys: Some(keys),
            values,
            expected: BTreeMap::new(),
        };
        let whole = block_on(detector(&case).process(batch(&case, 0..len).into())).unwrap();
        let whole = collect(&[whole], true);
        for (seed, max_batch, items) in [(round, 1, 3), (round + 1000, 17, 4)] {
            let cut = collect(&streamed(&case, seed, max_batch, items), true);
            assert_eq!(
                format!("{cut:?}"),
                format!("{whole:?}"),
                "{}: cut into batches of 1..={max_batch} over {items} items",
                case.name
            );
        }
    }
}
