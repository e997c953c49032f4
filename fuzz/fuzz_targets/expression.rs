//! The expression language of `map` and `filter` on any text: parsed, then type-checked and
//! evaluated on a five-row batch holding the awkward values (null, NaN, ±inf, -0.0,
//! `i64::MIN`/`MAX`, empty text), and run as a `filter` and a `map` derive. No panic; a
//! result has one value per row, and evaluating one row alone gives that row's value (the
//! kernels do not depend on where a slice starts), as does an empty batch.
#![no_main]

use std::sync::{Arc, LazyLock};

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use collectors_core::{Payload, Processor};
use collectors_processors::{Expression, Filter, FilterConfig, Map, MapConfig};
use libfuzzer_sys::fuzz_target;

const ROWS: usize = 5;

static BATCH: LazyLock<RecordBatch> = LazyLock::new(|| {
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "value",
            Arc::new(Float64Array::from(vec![
                Some(1.5),
                None,
                Some(f64::NAN),
                Some(f64::INFINITY),
                Some(-0.0),
            ])),
        ),
        (
            "count",
            Arc::new(Int64Array::from(vec![
                Some(0),
                Some(i64::MIN),
                Some(i64::MAX),
                None,
                Some(-7),
            ])),
        ),
        (
            "small",
            Arc::new(Int32Array::from(vec![
                Some(3),
                None,
                Some(i32::MIN),
                Some(-1),
                Some(0),
            ])),
        ),
        (
            "sensor_id",
            Arc::new(StringArray::from(vec![
                Some("s1"),
                None,
                Some(""),
                Some("ok"),
                Some("s-07"),
            ])),
        ),
        (
            "ok",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
            ])),
        ),
        (
            "ts",
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    Some(0),
                    None,
                    Some(1_714_564_800_000_000),
                    Some(-1),
                    Some(i64::MAX),
                ])
                .with_timezone("+00:00"),
            ),
        ),
    ];
    RecordBatch::try_from_iter(columns).expect("a valid batch")
});

fn describe(array: &dyn Array) -> String {
    format!("{}: {array:?}", array.data_type())
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let batch = &*BATCH;
    let parsed = Expression::parse(text);

    // The processors accept exactly the expressions the parser accepts.
    let filter = Filter::new(FilterConfig::expr(text));
    let map = Map::new(MapConfig::new().with_derived("derived", text));
    assert_eq!(parsed.is_ok(), filter.is_ok(), "filter: {:?}", filter.err());
    assert_eq!(parsed.is_ok(), map.is_ok(), "map: {:?}", map.err());
    let Ok(expr) = parsed else {
        return;
    };
    let _ = expr.columns();

    if let Ok(filter) = filter
        && let Ok(out) = futures::executor::block_on(filter.process(Payload::Table(batch.clone())))
    {
        assert!(out.num_rows().unwrap_or(0) <= ROWS, "a filter adds no rows");
    }
    if let Ok(map) = map
        && let Ok(out) = futures::executor::block_on(map.process(Payload::Table(batch.clone())))
    {
        let out = out.as_table().expect("a map gives a table");
        assert_eq!(out.num_rows(), ROWS);
        assert!(out.column_by_name("derived").is_some());
    }

    let Ok(all) = expr.evaluate(batch) else {
        return;
    };
    assert_eq!(all.len(), ROWS, "one value per row");
    let empty = expr
        .evaluate(&batch.slice(0, 0))
        .unwrap_or_else(|e| panic!("fails on an empty batch only: {e}"));
    assert_eq!(empty.len(), 0);
    assert_eq!(
        empty.data_type(),
        all.data_type(),
        "the type depends on the row count"
    );
    for row in 0..ROWS {
        let one = expr
            .evaluate(&batch.slice(row, 1))
            .unwrap_or_else(|e| panic!("fails on row {row} alone only: {e}"));
        assert_eq!(
            describe(one.as_ref()),
            describe(all.slice(row, 1).as_ref()),
            "row {row} alone"
        );
    }
});
