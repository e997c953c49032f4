use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use collectors_core::{ErrorType, Payload, Processor};
use collectors_processors::{Filter, FilterConfig, FilterOp};
use serde_json::{Value, json};

/// Row ids 0..6 plus one column of each type, nulls included.
fn table() -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from((0..6).collect::<Vec<i64>>())) as ArrayRef,
        ),
        (
            "n",
            Arc::new(Int64Array::from(vec![
                Some(5),
                Some(-2),
                None,
                Some(10),
                Some(5),
                Some(7),
            ])) as _,
        ),
        (
            "small",
            Arc::new(Int32Array::from(vec![
                Some(1),
                Some(2),
                Some(3),
                None,
                Some(5),
                Some(6),
            ])) as _,
        ),
        (
            "x",
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                None,
                Some(-1.25),
                Some(2.0),
                Some(0.5),
                Some(9.75),
            ])) as _,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![
                Some("ok"),
                Some("bad"),
                Some("ok"),
                None,
                Some("late"),
                Some("Ok"),
            ])) as _,
        ),
        (
            "flag",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
                Some(true),
            ])) as _,
        ),
    ])
    .unwrap()
}

/// A column's values as JSON, for the hand computation.
fn column_values(batch: &RecordBatch, name: &str) -> Vec<Value> {
    let column = batch.column_by_name(name).unwrap();
    (0..batch.num_rows())
        .map(|row| json_value(&column.slice(row, 1)))
        .collect()
}

/// The one value of a one-row array, as JSON.
fn json_value(one: &ArrayRef) -> Value {
    use arrow_array::Array;
    if one.is_null(0) {
        return Value::Null;
    }
    if let Some(a) = one.as_primitive_opt::<Int64Type>() {
        return json!(a.value(0));
    }
    if let Some(a) = one.as_primitive_opt::<arrow_array::types::Int32Type>() {
        return json!(a.value(0));
    }
    if let Some(a) = one.as_primitive_opt::<arrow_array::types::Float64Type>() {
        return json!(a.value(0));
    }
    if let Some(a) = one.as_string_opt::<i32>() {
        return json!(a.value(0));
    }
    if let Some(a) = one.as_boolean_opt() {
        return json!(a.value(0));
    }
    panic!("unexpected type {}", one.data_type());
}

/// What the filter must keep, computed row by row in plain Rust.
fn expected_ids(batch: &RecordBatch, column: &str, op: FilterOp, value: &Value) -> Vec<i64> {
    use std::cmp::Ordering;
    let values = column_values(batch, column);
    let order = |v: &Value| -> Option<Ordering> {
        match (v, value) {
            (Value::Null, _) => None,
            (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            _ => panic!("bad test case"),
        }
    };
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| match op {
            FilterOp::IsNull => v.is_null(),
            FilterOp::IsNotNull => !v.is_null(),
            FilterOp::Eq => order(v) == Some(Ordering::Equal),
            FilterOp::Ne => matches!(order(v), Some(o) if o != Ordering::Equal),
            FilterOp::Lt => order(v) == Some(Ordering::Less),
            FilterOp::Le => matches!(order(v), Some(o) if o != Ordering::Greater),
            FilterOp::Gt => order(v) == Some(Ordering::Greater),
            FilterOp::Ge => matches!(order(v), Some(o) if o != Ordering::Less),
        })
        .map(|(i, _)| i as i64)
        .collect()
}

fn kept_ids(output: &Payload) -> Vec<i64> {
    output
        .as_table()
        .unwrap()
        .column_by_name("id")
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

const COMPARISONS: [FilterOp; 6] = [
    FilterOp::Eq,
    FilterOp::Ne,
    FilterOp::Lt,
    FilterOp::Le,
    FilterOp::Gt,
    FilterOp::Ge,
];

#[tokio::test]
async fn every_comparison_on_every_type_matches_a_row_by_row_computation() {
    let batch = table();
    let cases: Vec<(&str, Vec<Value>)> = vec![
        ("n", vec![json!(5), json!(-3), json!(6.5), json!(100)]),
        (
            "small",
            vec![json!(3), json!(2.5), json!(10_000_000_000i64)],
        ),
        ("x", vec![json!(0.5), json!(2), json!(-5)]),
        ("s", vec![json!("ok"), json!("b"), json!("zzz")]),
        ("flag", vec![json!(true), json!(false)]),
    ];
    let mut checked = 0;
    for (column, values) in cases {
        for value in values {
            for op in COMPARISONS {
                let filter =
                    Filter::new(FilterConfig::new(column, op, Some(value.clone()))).unwrap();
                filter
                    .validate_input(&Payload::Table(batch.clone()))
                    .unwrap();
                let out = filter.process(Payload::Table(batch.clone())).await.unwrap();
                assert_eq!(
                    kept_ids(&out),
                    expected_ids(&batch, column, op, &value),
                    "{column} {op:?} {value}"
                );
                assert_eq!(out.as_table().unwrap().schema(), batch.schema());
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 15 * 6);
}

#[tokio::test]
async fn null_checks_keep_exactly_the_null_or_non_null_rows() {
    let batch = table();
    for column in ["n", "small", "x", "s", "flag"] {
        for op in [FilterOp::IsNull, FilterOp::IsNotNull] {
            let filter = Filter::new(FilterConfig::new(column, op, None)).unwrap();
            let out = filter.process(Payload::Table(batch.clone())).await.unwrap();
            assert_eq!(
                kept_ids(&out),
                expected_ids(&batch, column, op, &Value::Null),
                "{column} {op:?}"
            );
        }
    }
}

#[tokio::test]
async fn rows_with_a_null_value_are_dropped_by_every_comparison() {
    let batch = table();
    // Row 2 has a null `n`: neither `n == 5` nor `n != 5` keeps it.
    for op in COMPARISONS {
        let filter = Filter::new(FilterConfig::new("n", op, Some(json!(5)))).unwrap();
        let out = filter.process(Payload::Table(batch.clone())).await.unwrap();
        assert!(!kept_ids(&out).contains(&2), "{op:?}");
    }
}

#[tokio::test]
async fn timestamps_compare_with_rfc3339_strings() {
    let second = 1_000_000i64;
    let start = 1_704_067_200 * second;
    let ts =
        TimestampMicrosecondArray::from(vec![start, start + 60 * second, start + 120 * second])
            .with_timezone("+00:00");
    let batch = RecordBatch::try_from_iter([("ts", Arc::new(ts) as ArrayRef)]).unwrap();
    let filter = Filter::new(FilterConfig::new(
        "ts",
        FilterOp::Ge,
        Some(json!("2024-01-01T00:01:00Z")),
    ))
    .unwrap();
    let out = filter.process(Payload::Table(batch)).await.unwrap();
    let kept = out
        .as_table()
        .unwrap()
        .column(0)
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(
        kept.values().as_ref(),
        &[start + 60 * second, start + 120 * second]
    );
}

#[tokio::test]
async fn unknown_columns_and_incompatible_values_are_validation_errors() {
    let batch = Payload::Table(table());
    let cases = [
        FilterConfig::new("missing", FilterOp::Eq, Some(json!(1))),
        FilterConfig::new("missing", FilterOp::IsNull, None),
        FilterConfig::new("n", FilterOp::Eq, Some(json!("five"))),
        FilterConfig::new("s", FilterOp::Lt, Some(json!(3))),
        FilterConfig::new("flag", FilterOp::Eq, Some(json!(1))),
        FilterConfig::new("x", FilterOp::Gt, Some(json!(true))),
    ];
    for config in cases {
        let filter = Filter::new(config.clone()).unwrap();
        let err = filter.validate_input(&batch).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{config:?}");
        let err = filter.process(batch.clone()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{config:?}");
        assert_eq!(err.context().component.as_deref(), Some("filter"));
    }
    let err = Filter::new(FilterConfig::new("missing", FilterOp::Eq, Some(json!(1))))
        .unwrap()
        .validate_input(&batch)
        .unwrap_err();
    assert!(err.message().contains("\"missing\"") && err.message().contains("\"id\""));

    let not_a_table = Payload::Json(json!({"n": 1}));
    let filter = Filter::new(FilterConfig::new("n", FilterOp::Eq, Some(json!(1)))).unwrap();
    assert_eq!(
        filter
            .validate_input(&not_a_table)
            .unwrap_err()
            .error_type(),
        ErrorType::Validation
    );
}

#[test]
fn configs_are_checked_at_construction() {
    for config in [
        FilterConfig::new("n", FilterOp::Eq, None),
        FilterConfig::new("n", FilterOp::Lt, Some(Value::Null)),
        FilterConfig::new("n", FilterOp::IsNull, Some(json!(1))),
        FilterConfig::new("n", FilterOp::Eq, Some(json!([1, 2]))),
        FilterConfig::new("", FilterOp::IsNull, None),
    ] {
        let err = Filter::new(config.clone()).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration, "{config:?}");
    }
    let config: FilterConfig =
        serde_json::from_str(r#"{"column": "status", "op": "is_not_null"}"#).unwrap();
    assert_eq!(config.op, FilterOp::IsNotNull);
    assert!(
        serde_json::from_str::<FilterConfig>(r#"{"column": "a", "op": "like", "value": 1}"#)
            .is_err()
    );
}

#[test]
fn the_name_is_configurable() {
    let filter = Filter::new(FilterConfig::new("s", FilterOp::Eq, Some(json!("ok")))).unwrap();
    assert_eq!(filter.name(), "filter");
    assert_eq!(filter.named("only-ok").name(), "only-ok");
}

#[tokio::test]
async fn filter_meets_the_processor_contract() {
    let filter = Filter::new(FilterConfig::new("s", FilterOp::Eq, Some(json!("ok"))))
        .unwrap()
        .named("only-ok");
    let without_column =
        RecordBatch::try_from_iter([("other", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
            .unwrap();
    collectors_core::conformance::processor(
        &filter,
        Payload::Table(table()),
        Some(Payload::Table(without_column)),
    )
    .await;
    collectors_core::conformance::processor(
        &filter,
        Payload::Table(table()),
        Some(Payload::Bytes(bytes_of("s\nok\n"))),
    )
    .await;
}

fn bytes_of(text: &'static str) -> collectors_core::bytes::Bytes {
    collectors_core::bytes::Bytes::from_static(text.as_bytes())
}
