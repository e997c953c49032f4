//! The expression language of `map` and `filter`: every operator and function against the
//! row-by-row computation, SQL null logic, NumPy's rounding, and errors that name the place.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::DataType;
use collectors_core::{ErrorType, Payload, Processor};
use collectors_processors::{
    ColumnType, Expression, Filter, FilterConfig, MAX_EXPR_DEPTH, Map, MapConfig,
};

/// Seeded columns: integers, floats and text, each with nulls.
type Columns = (Vec<Option<i64>>, Vec<Option<f64>>, Vec<Option<String>>);

/// A batch of the columns, and the columns.
type Table = (
    RecordBatch,
    Vec<Option<i64>>,
    Vec<Option<f64>>,
    Vec<Option<String>>,
);

fn data(seed: u64, rows: usize) -> Columns {
    let mut rng = fastrand::Rng::with_seed(seed);
    let ints = (0..rows)
        .map(|_| (rng.u8(..8) != 0).then(|| rng.i64(-50..50)))
        .collect();
    let floats = (0..rows)
        .map(|_| (rng.u8(..8) != 0).then(|| f64::from(rng.i32(-4000..4000)) / 16.0))
        .collect();
    let text = (0..rows)
        .map(|_| (rng.u8(..8) != 0).then(|| ["ok", "warn", "error"][rng.usize(..3)].to_owned()))
        .collect();
    (ints, floats, text)
}

fn batch(seed: u64, rows: usize) -> Table {
    let (i, f, s) = data(seed, rows);
    let batch = RecordBatch::try_from_iter([
        ("i", Arc::new(Int64Array::from(i.clone())) as ArrayRef),
        ("f", Arc::new(Float64Array::from(f.clone())) as ArrayRef),
        ("s", Arc::new(StringArray::from(s.clone())) as ArrayRef),
    ])
    .unwrap();
    (batch, i, f, s)
}

fn floats(expr: &str, batch: &RecordBatch) -> Vec<Option<f64>> {
    let out = Expression::parse(expr).unwrap().evaluate(batch).unwrap();
    assert_eq!(out.data_type(), &DataType::Float64, "{expr}");
    out.as_primitive::<Float64Type>().iter().collect()
}

fn ints(expr: &str, batch: &RecordBatch) -> Vec<Option<i64>> {
    let out = Expression::parse(expr).unwrap().evaluate(batch).unwrap();
    assert_eq!(out.data_type(), &DataType::Int64, "{expr}");
    out.as_primitive::<Int64Type>().iter().collect()
}

fn bools(expr: &str, batch: &RecordBatch) -> Vec<Option<bool>> {
    let out = Expression::parse(expr).unwrap().evaluate(batch).unwrap();
    out.as_boolean().iter().collect()
}

#[test]
fn arithmetic_equals_the_row_by_row_computation() {
    let (batch, i, f, _) = batch(1, 500);
    let both = |g: &dyn Fn(i64, f64) -> f64| -> Vec<Option<f64>> {
        i.iter()
            .zip(&f)
            .map(|(a, b)| Some(g((*a)?, (*b)?)))
            .collect()
    };
    assert_eq!(
        floats("i * 2 + f", &batch),
        both(&|a, b| (a * 2) as f64 + b)
    );
    assert_eq!(
        floats("(f - i) * -1.5", &batch),
        both(&|a, b| (b - a as f64) * -1.5)
    );
    assert_eq!(
        floats("f / 4", &batch),
        f.iter().map(|v| v.map(|v| v / 4.0)).collect::<Vec<_>>()
    );
    // `/` is true division, `%` and the others keep integers.
    assert_eq!(
        floats("i / 2", &batch),
        i.iter()
            .map(|v| v.map(|v| v as f64 / 2.0))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        ints("i % 7 - 3", &batch),
        i.iter().map(|v| v.map(|v| v % 7 - 3)).collect::<Vec<_>>()
    );
    assert_eq!(
        ints("abs(i)", &batch),
        i.iter().map(|v| v.map(i64::abs)).collect::<Vec<_>>()
    );
    assert_eq!(
        floats("abs(f)", &batch),
        f.iter().map(|v| v.map(f64::abs)).collect::<Vec<_>>()
    );
    assert_eq!(
        floats("coalesce(f, i, 0)", &batch),
        f.iter()
            .zip(&i)
            .map(|(f, i)| Some(f.or(i.map(|i| i as f64)).unwrap_or(0.0)))
            .collect::<Vec<_>>()
    );
}

#[test]
fn round_is_half_to_even_as_numpy() {
    let batch = RecordBatch::try_from_iter([(
        "x",
        Arc::new(Float64Array::from(vec![
            0.5, 1.5, 2.5, -0.5, 0.125, 2.675, 1234.5,
        ])) as ArrayRef,
    )])
    .unwrap();
    // numpy.round([0.5, 1.5, 2.5, -0.5]) == [0, 2, 2, -0]
    let zero = floats("round(x)", &batch);
    assert_eq!(&zero[..4], &[Some(0.0), Some(2.0), Some(2.0), Some(-0.0)]);
    // numpy.round(0.125, 2) == 0.12, numpy.round(2.675, 2) == 2.68 (2.675 * 100 is 267.5 in floats), numpy.round(1234.5, -1) == 1230
    assert_eq!(
        floats("round(x, 2)", &batch)[4..6],
        [Some(0.12), Some(2.68)]
    );
    assert_eq!(floats("round(x, -1)", &batch)[6], Some(1230.0));
}

#[test]
fn comparisons_and_logic_follow_sql_nulls() {
    let (batch, i, f, s) = batch(2, 400);
    let expected: Vec<Option<bool>> = i
        .iter()
        .zip(&f)
        .zip(&s)
        .map(|((i, f), s)| {
            // (i > 0 and f <= 10) or s == 'ok', with three-valued logic.
            let left = match (i.map(|i| i > 0), f.map(|f| f <= 10.0)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            let right = s.as_ref().map(|s| s == "ok");
            match (left, right) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            }
        })
        .collect();
    assert_eq!(bools("(i > 0 and f <= 10) or s == 'ok'", &batch), expected);
    assert_eq!(
        bools("not is_null(f) and s != \"error\"", &batch),
        f.iter()
            .zip(&s)
            .map(
                |(f, s)| match (f.is_some(), s.as_ref().map(|s| s != "error")) {
                    (false, _) => Some(false),
                    (true, other) => other,
                }
            )
            .collect::<Vec<_>>()
    );
    assert_eq!(bools("i == null", &batch), vec![None; 400]);
    assert_eq!(bools("NOT TRUE OR False", &batch), vec![Some(false); 400]);
}

#[test]
fn timestamps_compare_with_strings() {
    let ts = TimestampMicrosecondArray::from(vec![1_714_521_600_000_000, 1_714_608_000_000_000])
        .with_timezone("+00:00");
    let batch = RecordBatch::try_from_iter([("ts", Arc::new(ts) as ArrayRef)]).unwrap();
    assert_eq!(
        bools("ts >= '2024-05-01T12:00:00Z'", &batch),
        vec![Some(false), Some(true)]
    );
}

#[test]
fn mistakes_are_errors_that_name_the_place() {
    for (text, needle) in [
        ("1 +", "unexpected end"),
        ("a < b < c", "do not chain"),
        ("foo(1)", "unknown function `foo`"),
        ("round(x, y)", "digits"),
        ("abs(1, 2)", "wrong number of arguments"),
        ("'open", "unterminated quote"),
        ("x $ 2", "unexpected '$'"),
        ("(x", "expected `)`"),
        ("1.2.3", "not a number"),
        ("x y", "after the expression"),
    ] {
        let err = Expression::parse(text).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration, "{text}");
        assert!(err.to_string().contains(needle), "{text}: {err}");
        assert!(err.to_string().contains("at character"), "{text}: {err}");
    }
    let deep = format!(
        "{}1{}",
        "(".repeat(MAX_EXPR_DEPTH + 1),
        ")".repeat(MAX_EXPR_DEPTH + 1)
    );
    assert!(
        Expression::parse(&deep)
            .unwrap_err()
            .to_string()
            .contains("nested deeper")
    );
    let negations = format!("{}1", "-".repeat(10_000));
    assert!(Expression::parse(&negations).is_err());

    let (batch, ..) = batch(3, 10);
    for (text, needle) in [
        ("nope + 1", "no column \"nope\""),
        ("s + s", "arithmetic needs numbers"),
        ("s + 1", "do not go together"),
        ("s > 1", "do not go together"),
        ("i and true", "needs booleans"),
        ("9223372036854775807 + i", "Overflow"),
    ] {
        let err = Expression::parse(text)
            .unwrap()
            .evaluate(&batch)
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{text}");
        assert!(err.to_string().contains(needle), "{text}: {err}");
        assert!(err.to_string().contains(text), "{text}: {err}");
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn map_casts_derives_drops_and_renames_in_order() {
    let (batch, i, f, _) = batch(4, 50);
    let map = Map::new(
        MapConfig::new()
            .with_cast("i", ColumnType::Float64)
            .with_derived("total", "coalesce(i, 0) + coalesce(f, 0)")
            .with_derived("i", "i * 10")
            .with_drop("s")
            .with_rename("f", "value"),
    )
    .unwrap();
    let out = block_on(map.process(batch.into())).unwrap();
    let out = out.as_table().unwrap();
    let names: Vec<&String> = out.schema_ref().fields().iter().map(|f| f.name()).collect();
    assert_eq!(names, ["i", "value", "total"]);
    let total = out
        .column_by_name("total")
        .unwrap()
        .as_primitive::<Float64Type>();
    for row in 0..50 {
        assert_eq!(
            total.value(row),
            i[row].unwrap_or(0) as f64 + f[row].unwrap_or(0.0)
        );
    }
    let scaled = out
        .column_by_name("i")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(scaled.is_null(0), i[0].is_none());

    let err = Map::new(MapConfig::new().with_derived("x", "1 +")).unwrap_err();
    assert!(err.message().starts_with("`derive[0].expr`"), "{err}");
    let missing = Map::new(MapConfig::new().with_drop("nope")).unwrap();
    let (batch, ..) = self::batch(4, 5);
    let err = block_on(missing.process(batch.clone().into())).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
    assert!(err.to_string().contains("nope"), "{err}");
    let clash = Map::new(MapConfig::new().with_rename("i", "f")).unwrap();
    assert!(block_on(clash.process(batch.clone().into())).is_err());
    let bad_cast = Map::new(MapConfig::new().with_cast("s", ColumnType::Int64)).unwrap();
    assert!(block_on(bad_cast.process(batch.into())).is_err());
}

#[test]
fn filter_by_expression_keeps_the_rows_where_it_is_true() {
    let (batch, i, f, s) = batch(5, 300);
    let filter = Filter::new(FilterConfig::expr("s == 'ok' and abs(f) < 100 or i == 0")).unwrap();
    let out = block_on(filter.process(batch.into())).unwrap();
    let kept = out
        .as_table()
        .unwrap()
        .column_by_name("f")
        .unwrap()
        .as_primitive::<Float64Type>()
        .clone();
    let expected: Vec<Option<f64>> = (0..300)
        .filter(|&r| {
            let left = match (
                s[r].as_deref().map(|s| s == "ok"),
                f[r].map(|f| f.abs() < 100.0),
            ) {
                (Some(true), Some(true)) => Some(true),
                (Some(false), _) | (_, Some(false)) => Some(false),
                _ => None,
            };
            left == Some(true) || i[r] == Some(0)
        })
        .map(|r| f[r])
        .collect();
    assert_eq!(kept.iter().collect::<Vec<_>>(), expected);

    let both = FilterConfig {
        column: "f".into(),
        ..FilterConfig::expr("f > 0")
    };
    assert_eq!(
        Filter::new(both).unwrap_err().error_type(),
        ErrorType::Configuration
    );
    let not_boolean = Filter::new(FilterConfig::expr("f + 1")).unwrap();
    let (batch, ..) = self::batch(5, 3);
    assert!(
        not_boolean
            .validate_input(&Payload::Table(batch.clone()))
            .is_err()
    );
    let all_null = Filter::new(FilterConfig::expr("null")).unwrap();
    let out = block_on(all_null.process(batch.into())).unwrap();
    assert_eq!(out.num_rows(), Some(0));
    let _ = BooleanArray::from(vec![true]);
}

/// Found while writing the expression fuzz target: a long flat chain (`v + v + … + v`)
/// built a tree as deep as the chain was long without counting towards the depth limit, so
/// evaluating or merely dropping it overflowed the stack of a worker thread (an abort, not an
/// error). (libFuzzer's inputs of a few KiB on its 8 MiB main thread do not reach it.)
#[test]
fn a_long_chain_of_operators_is_refused_not_a_stack_overflow() {
    for op in ["+", "*", "and", "or"] {
        let chain = vec!["v"; 100_000].join(&format!(" {op} "));
        let outcome = std::thread::Builder::new()
            .stack_size(2 << 20) // tokio's worker threads
            .spawn(move || {
                Expression::parse(&chain)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .expect("a thread")
            .join()
            .expect("no panic");
        let err = outcome.expect_err("a chain deeper than the limit");
        assert!(err.contains("nested deeper"), "{op}: {err}");
    }
    // A chain within the limit still parses and evaluates.
    let batch = RecordBatch::try_from_iter([(
        "v",
        Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
    )])
    .unwrap();
    let sum = vec!["v"; MAX_EXPR_DEPTH].join(" + ");
    assert_eq!(ints(&sum, &batch), [Some(MAX_EXPR_DEPTH as i64), None]);
}
