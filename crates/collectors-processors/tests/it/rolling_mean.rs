use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use collectors_core::{ErrorType, ItemContext, Payload, Processor};
use collectors_processors::{RollingMean, RollingMeanConfig};

/// Seeded rows: (sensor, value), some values null, some sensors null.
fn rows(seed: u64, count: usize) -> Vec<(Option<String>, Option<f64>)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count)
        .map(|_| {
            let sensor = match rng.u8(0..10) {
                0 => None,
                k => Some(format!("s{}", k % 3)),
            };
            let value = (rng.u8(0..8) != 0).then(|| f64::from(rng.i32(-1000..1000)) / 8.0);
            (sensor, value)
        })
        .collect()
}

fn batch_of(rows: &[(Option<String>, Option<f64>)]) -> RecordBatch {
    let sensors: StringArray = rows.iter().map(|(s, _)| s.as_deref()).collect();
    let values: Float64Array = rows.iter().map(|(_, v)| *v).collect();
    RecordBatch::try_from_iter([
        ("sensor", Arc::new(sensors) as ArrayRef),
        ("value", Arc::new(values) as ArrayRef),
    ])
    .unwrap()
}

/// The mean of the last `window` non-null values of the row's sensor, this row included,
/// computed the slow, obvious way.
fn hand_computed(rows: &[(Option<String>, Option<f64>)], window: usize) -> Vec<Option<f64>> {
    (0..rows.len())
        .map(|i| {
            let (sensor, value) = &rows[i];
            (*value)?;
            let same_key: Vec<f64> = rows[..=i]
                .iter()
                .filter(|(s, _)| s == sensor)
                .filter_map(|(_, v)| *v)
                .collect();
            let last = &same_key[same_key.len().saturating_sub(window)..];
            Some(last.iter().sum::<f64>() / last.len() as f64)
        })
        .collect()
}

fn means(output: &Payload, column: &str) -> Vec<Option<f64>> {
    output
        .as_table()
        .unwrap()
        .column_by_name(column)
        .unwrap()
        .as_primitive::<Float64Type>()
        .iter()
        .collect()
}

fn assert_close(actual: &[Option<f64>], expected: &[Option<f64>], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        match (a, e) {
            (Some(a), Some(e)) => assert!((a - e).abs() < 1e-9, "{what}: row {i}: {a} != {e}"),
            _ => assert_eq!(a, e, "{what}: row {i}"),
        }
    }
}

fn context(item: &str, batch_index: u64) -> ItemContext {
    ItemContext {
        source_id: "sensors".into(),
        item_id: item.into(),
        batch_index,
    }
}

/// Splits `rows` into batches of seeded random sizes.
fn split(rows: &[(Option<String>, Option<f64>)], seed: u64) -> Vec<RecordBatch> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut batches = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let end = (start + rng.usize(1..40)).min(rows.len());
        batches.push(batch_of(&rows[start..end]));
        start = end;
    }
    batches
}

#[tokio::test]
async fn windows_carry_across_the_batches_of_an_item() {
    for window in [1, 2, 3, 7, 50] {
        let rows = rows(window as u64, 400);
        let mean =
            RollingMean::new(RollingMeanConfig::new(Some("sensor"), "value", window)).unwrap();
        let mut got = Vec::new();
        let batches = split(&rows, 17);
        assert!(batches.len() > 5);
        for (index, batch) in batches.into_iter().enumerate() {
            let out = mean
                .process_in(&context("day-1.csv", index as u64), batch.into())
                .await
                .unwrap();
            got.extend(means(&out, "value_rolling_mean"));
        }
        mean.finish_item("day-1.csv");
        assert_close(
            &got,
            &hand_computed(&rows, window),
            &format!("window {window}"),
        );
    }
}

#[tokio::test]
async fn per_item_windows_of_two_items_interleaved_are_not_shared() {
    let mean =
        RollingMean::new(RollingMeanConfig::new(Some("sensor"), "value", 4).with_per_item(true))
            .unwrap();
    let (rows_a, rows_b) = (rows(1, 200), rows(2, 200));
    let (batches_a, batches_b) = (split(&rows_a, 3), split(&rows_b, 4));
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    let longest = batches_a.len().max(batches_b.len());
    for i in 0..longest {
        if let Some(batch) = batches_a.get(i) {
            let out = mean
                .process_in(&context("a", i as u64), batch.clone().into())
                .await
                .unwrap();
            got_a.extend(means(&out, "value_rolling_mean"));
        }
        if let Some(batch) = batches_b.get(i) {
            let out = mean
                .process_in(&context("b", i as u64), batch.clone().into())
                .await
                .unwrap();
            got_b.extend(means(&out, "value_rolling_mean"));
        }
    }
    assert_eq!(mean.items_in_progress(), 2);
    assert_close(&got_a, &hand_computed(&rows_a, 4), "item a");
    assert_close(&got_b, &hand_computed(&rows_b, 4), "item b");
}

#[tokio::test]
async fn finish_item_drops_per_item_state() {
    let mean =
        RollingMean::new(RollingMeanConfig::new(None, "value", 3).with_per_item(true)).unwrap();
    let batch = batch_of(&[(None, Some(10.0)), (None, Some(20.0))]);
    mean.process_in(&context("x", 0), batch.clone().into())
        .await
        .unwrap();
    mean.process_in(&context("y", 0), batch.clone().into())
        .await
        .unwrap();
    assert_eq!(mean.items_in_progress(), 2);

    mean.finish_item("x");
    assert_eq!(mean.items_in_progress(), 1);
    // After finishing, the same item id starts from empty windows.
    let out = mean
        .process_in(&context("x", 1), batch_of(&[(None, Some(40.0))]).into())
        .await
        .unwrap();
    assert_eq!(means(&out, "value_rolling_mean"), [Some(40.0)]);
    // "y" still has its two values: (10 + 20 + 40) / 3.
    let out = mean
        .process_in(&context("y", 1), batch_of(&[(None, Some(40.0))]).into())
        .await
        .unwrap();
    assert_close(&means(&out, "value_rolling_mean"), &[Some(70.0 / 3.0)], "y");

    mean.finish_item("x");
    mean.finish_item("y");
    assert_eq!(mean.items_in_progress(), 0);
}

#[tokio::test]
async fn batch_zero_restarts_a_retried_item_with_per_item_state() {
    let mean =
        RollingMean::new(RollingMeanConfig::new(None, "value", 10).with_per_item(true)).unwrap();
    let batch = batch_of(&[(None, Some(1.0)), (None, Some(3.0))]);
    mean.process_in(&context("x", 0), batch.clone().into())
        .await
        .unwrap();
    let again = mean
        .process_in(&context("x", 0), batch.into())
        .await
        .unwrap();
    assert_eq!(means(&again, "value_rolling_mean"), [Some(1.0), Some(2.0)]);
}

#[tokio::test]
async fn window_one_is_the_value_itself_and_nulls_stay_null() {
    let rows = rows(9, 300);
    let mean = RollingMean::new(RollingMeanConfig::new(Some("sensor"), "value", 1)).unwrap();
    let out = mean.process(batch_of(&rows).into()).await.unwrap();
    let expected: Vec<Option<f64>> = rows.iter().map(|(_, v)| *v).collect();
    assert_eq!(means(&out, "value_rolling_mean"), expected);
    assert!(expected.iter().any(Option::is_none), "the input has nulls");
}

#[tokio::test]
async fn nulls_do_not_enter_the_window_and_a_null_key_is_its_own_group() {
    let rows: Vec<(Option<String>, Option<f64>)> = vec![
        (Some("a".into()), Some(1.0)),
        (Some("a".into()), None),
        (None, Some(100.0)),
        (Some("a".into()), Some(3.0)),
        (None, Some(200.0)),
        (Some("b".into()), Some(5.0)),
    ];
    let mean = RollingMean::new(RollingMeanConfig::new(Some("sensor"), "value", 2)).unwrap();
    let out = mean.process(batch_of(&rows).into()).await.unwrap();
    assert_eq!(
        means(&out, "value_rolling_mean"),
        [
            Some(1.0),
            None,
            Some(100.0),
            Some(2.0),
            Some(150.0),
            Some(5.0)
        ]
    );
}

#[tokio::test]
async fn plain_process_starts_fresh_each_call() {
    let mean = RollingMean::new(RollingMeanConfig::new(None, "value", 5)).unwrap();
    let batch = batch_of(&[(None, Some(2.0)), (None, Some(4.0))]);
    for _ in 0..3 {
        let out = mean.process(batch.clone().into()).await.unwrap();
        assert_eq!(means(&out, "value_rolling_mean"), [Some(2.0), Some(3.0)]);
    }
    assert_eq!(mean.items_in_progress(), 0);
}

#[tokio::test]
async fn integer_keys_and_values_and_a_named_output() {
    let batch = RecordBatch::try_from_iter([
        (
            "station",
            Arc::new(Int32Array::from(vec![7, 8, 7, 7])) as ArrayRef,
        ),
        (
            "reading",
            Arc::new(Int32Array::from(vec![1, 10, 2, 6])) as _,
        ),
    ])
    .unwrap();
    let mut config = RollingMeanConfig::new(Some("station"), "reading", 2);
    config.output = Some("avg".into());
    let mean = RollingMean::new(config).unwrap().named("avg-2");
    let out = mean.process(batch.into()).await.unwrap();
    let table = out.as_table().unwrap();
    assert_eq!(table.num_columns(), 3);
    assert_eq!(table.schema().field(2).data_type(), &DataType::Float64);
    assert_eq!(
        means(&out, "avg"),
        [Some(1.0), Some(10.0), Some(1.5), Some(4.0)]
    );
    assert_eq!(mean.name(), "avg-2");
}

#[tokio::test]
async fn bad_inputs_and_configs_are_typed_errors() {
    let err = RollingMean::new(RollingMeanConfig::new(None, "value", 0)).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
    let err = RollingMean::new(RollingMeanConfig::new(Some(""), "value", 3)).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);

    let batch: Payload = batch_of(&rows(1, 5)).into();
    let invalid = [
        RollingMeanConfig::new(None, "missing", 3),
        RollingMeanConfig::new(Some("missing"), "value", 3),
        RollingMeanConfig::new(None, "sensor", 3), // text is not numeric
        RollingMeanConfig {
            output: Some("sensor".into()), // would overwrite a column
            ..RollingMeanConfig::new(None, "value", 3)
        },
    ];
    for config in invalid {
        let mean = RollingMean::new(config.clone()).unwrap();
        let err = mean.validate_input(&batch).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{config:?}");
        let err = mean.process(batch.clone()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{config:?}");
    }
    assert!(
        serde_json::from_str::<RollingMeanConfig>(r#"{"value":"v","window":2,"size":3}"#).is_err()
    );
}

#[tokio::test]
async fn rolling_mean_meets_the_processor_contract() {
    let mean = RollingMean::new(RollingMeanConfig::new(Some("sensor"), "value", 3)).unwrap();
    collectors_core::conformance::processor(
        &mean,
        batch_of(&rows(5, 50)).into(),
        Some(Payload::Json(serde_json::json!({"value": 1}))),
    )
    .await;
    let out = mean.process(batch_of(&rows(5, 50)).into()).await.unwrap();
    assert_eq!(out.as_table().unwrap().column(2).len(), 50);
}

/// The means of `values` (one group, one batch) with `window` and `min_periods`.
async fn rolling(values: &[f64], window: usize, min_periods: usize) -> Vec<Option<f64>> {
    let mean = RollingMean::new(
        RollingMeanConfig::new(None, "value", window).with_min_periods(min_periods),
    )
    .unwrap();
    let batch = RecordBatch::try_from_iter([(
        "value",
        Arc::new(Float64Array::from(values.to_vec())) as ArrayRef,
    )])
    .unwrap();
    means(
        &mean.process(batch.into()).await.unwrap(),
        "value_rolling_mean",
    )
}

/// NaN is compared as NaN; `None` is pandas' NaN for "min_periods not met".
fn assert_same(actual: &[Option<f64>], expected: &[Option<f64>], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}");
    for (row, (a, e)) in actual.iter().zip(expected).enumerate() {
        match (a, e) {
            (Some(a), Some(e)) if a.is_nan() || e.is_nan() => {
                assert!(a.is_nan() && e.is_nan(), "{what}: row {row}: {a} != {e}")
            }
            (Some(a), Some(e)) if a.is_infinite() || e.is_infinite() => {
                assert_eq!(a, e, "{what}: row {row}")
            }
            (Some(a), Some(e)) => assert!((a - e).abs() < 1e-9, "{what}: row {row}: {a} != {e}"),
            _ => assert_eq!(a, e, "{what}: row {row}"),
        }
    }
}

#[tokio::test]
async fn nan_counts_only_while_in_the_window_like_pandas() {
    let nan = f64::NAN;
    // pd.Series([1,2,3,nan,5,6,7,8]).rolling(5, min_periods=1).mean()  (pandas 3.1.1)
    let got = rolling(&[1.0, 2.0, 3.0, nan, 5.0, 6.0, 7.0, 8.0], 5, 1).await;
    let expected = [1.0, 1.5, 2.0, 2.0, 2.75, 4.0, 5.25, 6.5].map(Some);
    assert_same(&got, &expected, "window 5, min 1");

    // pd.Series([1,2,3,nan,5,6,7,8]).rolling(5, min_periods=4).mean()
    let got = rolling(&[1.0, 2.0, 3.0, nan, 5.0, 6.0, 7.0, 8.0], 5, 4).await;
    let expected = [
        None,
        None,
        None,
        None,
        Some(2.75),
        Some(4.0),
        Some(5.25),
        Some(6.5),
    ];
    assert_same(&got, &expected, "window 5, min 4");

    let values = [nan, nan, 3.0, 4.0, nan, nan, nan, 8.0];
    // pd.Series([nan,nan,3,4,nan,nan,nan,8]).rolling(3, min_periods=2).mean()
    let got = rolling(&values, 3, 2).await;
    let expected = [None, None, None, Some(3.5), Some(3.5), None, None, None];
    assert_same(&got, &expected, "window 3, min 2");
    // pd.Series([nan,nan,3,4,nan,nan,nan,8]).rolling(3, min_periods=1).mean()
    let got = rolling(&values, 3, 1).await;
    let expected = [
        None,
        None,
        Some(3.0),
        Some(3.5),
        Some(3.5),
        Some(4.0),
        None,
        Some(8.0),
    ];
    assert_same(&got, &expected, "window 3, min 1");
}

#[tokio::test]
async fn an_infinity_affects_the_mean_only_while_in_the_window() {
    let inf = f64::INFINITY;
    let got = rolling(&[1.0, 2.0, 3.0, inf, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 3, 1).await;
    let expected = [1.0, 1.5, 2.0, inf, inf, inf, 6.0, 7.0, 8.0, 9.0].map(Some);
    assert_same(&got, &expected, "+inf");

    // +inf and -inf together: NaN, then back to plain means.
    let got = rolling(&[1.0, inf, -inf, 4.0, 5.0, 6.0, 7.0], 2, 1).await;
    let expected = [1.0, inf, f64::NAN, -inf, 4.5, 5.5, 6.5].map(Some);
    assert_same(&got, &expected, "+inf and -inf");

    // Long runs across many windows, with re-summing in between, stay exact.
    let mut values: Vec<f64> = (0..1000).map(f64::from).collect();
    for at in [10, 11, 500, 501, 502] {
        values[at] = if at % 2 == 0 { f64::NAN } else { inf };
    }
    let got = rolling(&values, 4, 1).await;
    for (row, mean) in got.iter().enumerate().skip(510) {
        let window = &values[row - 3..=row];
        let expected = window.iter().sum::<f64>() / 4.0;
        assert_eq!(*mean, Some(expected), "row {row}");
    }
}

#[tokio::test]
async fn huge_finite_values_do_not_overflow_the_mean() {
    let got = rolling(&[1e308, 1e308, 1e308, 2.0, 4.0], 2, 1).await;
    assert_same(
        &got,
        &[
            Some(1e308),
            Some(1e308),
            Some(1e308),
            Some(5e307 + 1.0),
            Some(3.0),
        ],
        "overflow",
    );
}

#[tokio::test]
async fn window_and_min_periods_bounds_name_the_key() {
    for (config, start) in [
        (
            RollingMeanConfig::new(None, "v", 0),
            "`window` must be at least 1",
        ),
        (
            RollingMeanConfig::new(None, "v", 1 << 21),
            "`window` must be at most",
        ),
        (
            RollingMeanConfig::new(None, "v", 3).with_min_periods(0),
            "`min_periods` must be between 1 and `window` (3), got 0",
        ),
        (
            RollingMeanConfig::new(None, "v", 3).with_min_periods(4),
            "`min_periods` must be between 1 and `window` (3), got 4",
        ),
        (
            RollingMeanConfig::new(None, "", 3),
            "`value` must not be empty",
        ),
        (
            RollingMeanConfig::new(Some(""), "v", 3),
            "`key` must not be empty",
        ),
    ] {
        let err = RollingMean::new(config.clone()).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
        assert!(err.message().starts_with(start), "{config:?}: {err}");
    }
    let config: RollingMeanConfig =
        serde_json::from_str(r#"{"value":"v","window":5,"min_periods":2}"#).unwrap();
    assert_eq!(config.min_periods(), 2);
    assert_eq!(RollingMeanConfig::new(None, "v", 5).min_periods(), 1);
    assert!(
        RollingMean::new(RollingMeanConfig::new(
            None,
            "v",
            collectors_processors::MAX_WINDOW
        ))
        .is_ok()
    );
}

#[tokio::test]
async fn source_windows_carry_across_items_like_one_concatenated_series() {
    let rows = rows(5, 600);
    let window = 7;
    let mean = RollingMean::new(RollingMeanConfig::new(Some("sensor"), "value", window)).unwrap();
    assert_eq!(mean.state_scope(), collectors_core::StateScope::Source);
    // part-00 … part-05, each split into batches, read in order.
    let mut got = Vec::new();
    for (part, chunk) in rows.chunks(100).enumerate() {
        let item = format!("part-{part:02}.csv");
        for (index, batch) in split(chunk, part as u64).into_iter().enumerate() {
            let out = mean
                .process_in(&context(&item, index as u64), batch.into())
                .await
                .unwrap();
            got.extend(means(&out, "value_rolling_mean"));
        }
        mean.finish_item(&item);
    }
    assert_close(&got, &hand_computed(&rows, window), "parts = one series");
}

#[tokio::test]
async fn saved_state_resumes_exactly_in_a_fresh_processor() {
    let mut rows = rows(3, 300);
    // NaN and infinities must survive the checkpoint bit for bit.
    rows[10].1 = Some(f64::NAN);
    rows[11].1 = Some(f64::INFINITY);
    rows[12].1 = Some(0.1 + 0.2);
    let config = RollingMeanConfig::new(Some("sensor"), "value", 5);
    let whole = RollingMean::new(config.clone()).unwrap();
    let expected = means(
        &whole
            .process_in(&context("all", 0), batch_of(&rows).into())
            .await
            .unwrap(),
        "value_rolling_mean",
    );

    let first = RollingMean::new(config.clone()).unwrap();
    let mut got = means(
        &first
            .process_in(&context("part-0", 0), batch_of(&rows[..150]).into())
            .await
            .unwrap(),
        "value_rolling_mean",
    );
    let state = first
        .save_state("sensors")
        .unwrap()
        .expect("state after an item");
    let text = serde_json::to_string(&state).unwrap();

    // A new process: the state comes back from the checkpoint.
    let second = RollingMean::new(config).unwrap();
    second
        .restore_state("sensors", Some(serde_json::from_str(&text).unwrap()))
        .unwrap();
    got.extend(means(
        &second
            .process_in(&context("part-1", 0), batch_of(&rows[150..]).into())
            .await
            .unwrap(),
        "value_rolling_mean",
    ));
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(
            g.map(f64::to_bits),
            e.map(f64::to_bits),
            "row {i}: resumed {g:?} != whole {e:?}"
        );
    }
    // Restoring nothing starts afresh.
    second.restore_state("sensors", None).unwrap();
    assert_eq!(second.save_state("sensors").unwrap(), None);
}

/// `tests/fixtures/rolling.json`: rows and pandas' grouped rolling means, made by
/// `tests/fixtures/rolling.py` (re-checked by `scripts/test`).
const PANDAS: &str = include_str!("../fixtures/rolling.json");

struct PandasCase {
    name: String,
    config: RollingMeanConfig,
    ts: Vec<i64>,
    sensors: Vec<String>,
    values: Vec<f64>,
    expected: Vec<Option<f64>>,
}

fn pandas_cases() -> Vec<PandasCase> {
    let doc: serde_json::Value = serde_json::from_str(PANDAS).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let min_periods = case["min_periods"].as_u64().unwrap() as usize;
            let config = match &case["window"] {
                serde_json::Value::String(duration) => {
                    let duration = duration.replace("min", "m");
                    RollingMeanConfig::new(Some("sensor"), "value", 0).with_duration(duration, "ts")
                }
                count => RollingMeanConfig::new(
                    Some("sensor"),
                    "value",
                    count.as_u64().unwrap() as usize,
                ),
            }
            .with_min_periods(min_periods);
            let rows = &case["rows"];
            PandasCase {
                name: case["name"].as_str().unwrap().to_owned(),
                config,
                ts: rows["ts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_i64().unwrap())
                    .collect(),
                sensors: rows["sensor"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect(),
                values: rows["value"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN))
                    .collect(),
                expected: case["expected"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64())
                    .collect(),
            }
        })
        .collect()
}

fn pandas_batch(case: &PandasCase, range: std::ops::Range<usize>) -> Payload {
    let ts = arrow_array::TimestampMicrosecondArray::from(case.ts[range.clone()].to_vec())
        .with_timezone("+00:00");
    let sensors: StringArray = case.sensors[range.clone()]
        .iter()
        .map(|s| Some(s.as_str()))
        .collect();
    let values = Float64Array::from(case.values[range].to_vec());
    RecordBatch::try_from_iter([
        ("ts", Arc::new(ts) as ArrayRef),
        ("sensor", Arc::new(sensors) as ArrayRef),
        ("value", Arc::new(values) as ArrayRef),
    ])
    .unwrap()
    .into()
}

fn assert_pandas(case: &PandasCase, got: &[Option<f64>], how: &str) {
    assert_eq!(got.len(), case.expected.len(), "{} ({how})", case.name);
    for (row, (g, e)) in got.iter().zip(&case.expected).enumerate() {
        match (g, e) {
            (Some(g), Some(e)) => assert!(
                (g - e).abs() <= 1e-9,
                "{} ({how}) row {row}: {g} != pandas' {e}",
                case.name
            ),
            (None, None) => {}
            _ => panic!("{} ({how}) row {row}: {g:?} != pandas' {e:?}", case.name),
        }
    }
}

#[tokio::test]
async fn time_and_count_windows_equal_pandas() {
    for case in pandas_cases() {
        let mean = RollingMean::new(case.config.clone()).unwrap();
        let out = mean
            .process(pandas_batch(&case, 0..case.ts.len()))
            .await
            .unwrap();
        assert_pandas(&case, &means(&out, "value_rolling_mean"), "one batch");

        // Many batches over four items, the state checkpointed between items.
        let mut rng = fastrand::Rng::with_seed(17);
        let mut mean = RollingMean::new(case.config.clone()).unwrap();
        let mut got = Vec::new();
        let mut start = 0;
        for item in 0..4 {
            let end = if item == 3 {
                case.ts.len()
            } else {
                (start + rng.usize(0..1200)).min(case.ts.len())
            };
            let mut batch_index = 0;
            while start < end {
                let size = rng.usize(1..200).min(end - start);
                let context = ItemContext {
                    source_id: "sensors".into(),
                    item_id: format!("part-{item}"),
                    batch_index,
                };
                let out = mean
                    .process_in(&context, pandas_batch(&case, start..start + size))
                    .await
                    .unwrap();
                got.extend(means(&out, "value_rolling_mean"));
                start += size;
                batch_index += 1;
            }
            mean.finish_item(&format!("part-{item}"));
            let state = mean.save_state("sensors").unwrap();
            mean = RollingMean::new(case.config.clone()).unwrap();
            mean.restore_state("sensors", state).unwrap();
        }
        assert_pandas(&case, &got, "batches and items");
    }
}

#[tokio::test]
async fn time_windows_refuse_bad_timestamps_and_configs() {
    for config in [
        RollingMeanConfig {
            duration: Some("5m".into()),
            on: Some("ts".into()),
            ..RollingMeanConfig::new(None, "v", 3)
        },
        RollingMeanConfig::new(None, "v", 0).with_duration("5 weeks", "ts"),
        RollingMeanConfig::new(None, "v", 0).with_duration("0s", "ts"),
        RollingMeanConfig {
            on: Some("ts".into()),
            ..RollingMeanConfig::new(None, "v", 3)
        },
    ] {
        let err = RollingMean::new(config.clone()).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration, "{config:?}");
        assert!(err.message().starts_with('`'), "{err}");
    }
    let mean = RollingMean::new(RollingMeanConfig::new(None, "value", 0).with_duration("1m", "ts"))
        .unwrap();
    let case = PandasCase {
        name: "back".into(),
        config: mean.config().clone(),
        ts: vec![2_000_000, 1_000_000],
        sensors: vec!["a".into(), "a".into()],
        values: vec![1.0, 2.0],
        expected: vec![],
    };
    let err = mean.process(pandas_batch(&case, 0..2)).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
    assert!(err.to_string().contains("go back"), "{err}");
    let text_ts = RecordBatch::try_from_iter([
        ("ts", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
        ("value", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef),
    ])
    .unwrap();
    assert!(mean.validate_input(&text_ts.into()).is_err());
}
