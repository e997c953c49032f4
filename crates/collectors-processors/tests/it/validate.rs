//! `Validate`: each rule refuses exactly the rows that break it, with a reason naming the
//! column and the value; the unique key holds across batches and items.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use collectors_core::{ErrorType, ItemContext, Payload, Processor};
use collectors_processors::{ColumnRule, ColumnType, Validate, ValidateConfig};
use serde_json::json;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn context(item: &str, batch_index: u64) -> ItemContext {
    ItemContext {
        source_id: "s".into(),
        item_id: item.into(),
        batch_index,
    }
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> Payload {
    RecordBatch::try_from_iter(columns).unwrap().into()
}

fn split(validate: &Validate, input: Payload) -> (RecordBatch, Vec<String>) {
    let (valid, refused) = block_on(validate.process_rows(&context("a", 0), input)).unwrap();
    let reasons = refused.map(|r| r.reasons().to_vec()).unwrap_or_default();
    (valid.as_table().unwrap().clone(), reasons)
}

#[test]
fn every_rule_refuses_the_rows_that_break_it() {
    let validate = Validate::new(
        ValidateConfig::new()
            .with_column(
                ColumnRule::new("value")
                    .with_type(ColumnType::Float64)
                    .with_range(Some(-40.0), Some(85.0)),
            )
            .with_column(
                ColumnRule::new("status")
                    .with_nullable(false)
                    .with_allowed(vec!["ok".into(), "warn".into()]),
            )
            .with_column(ColumnRule::new("code").with_allowed(vec![1.into(), 2.into()]))
            .with_column(ColumnRule::new("sensor").with_pattern("^s[0-9]+$")),
    )
    .unwrap();
    let input = batch(vec![
        (
            "value",
            Arc::new(StringArray::from(vec![
                Some("21.5"),
                Some("x"),
                Some("-41"),
                None,
                Some("85"),
                Some("90"),
            ])) as _,
        ),
        (
            "status",
            Arc::new(StringArray::from(vec![
                Some("ok"),
                Some("ok"),
                Some("warn"),
                None,
                Some("bad"),
                Some("ok"),
            ])) as _,
        ),
        (
            "code",
            Arc::new(Int64Array::from(vec![1, 2, 2, 1, 3, 1])) as _,
        ),
        (
            "sensor",
            Arc::new(StringArray::from(vec!["s1", "s2", "s3", "s4", "s5", "sx"])) as _,
        ),
    ]);
    let (valid, reasons) = split(&validate, input);
    assert_eq!(valid.num_rows(), 1);
    // The valid rows go on typed.
    assert_eq!(
        valid.column_by_name("value").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        valid
            .column_by_name("value")
            .unwrap()
            .as_primitive::<Float64Type>()
            .value(0),
        21.5
    );
    assert_eq!(
        reasons,
        vec![
            "value: \"x\" is not a float64".to_owned(),
            "value: -41.0 < -40".to_owned(),
            "status: null".to_owned(),
            "status: \"bad\" is not one of [\"ok\",\"warn\"]; code: 3 is not one of [1,2]"
                .to_owned(),
            "value: 90.0 > 85; sensor: \"sx\" does not match /^s[0-9]+$/".to_owned(),
        ]
    );
}

#[test]
fn refused_rows_are_the_input_rows_unchanged() {
    let validate = Validate::new(
        ValidateConfig::new().with_column(ColumnRule::new("v").with_type(ColumnType::Int64)),
    )
    .unwrap();
    let input = batch(vec![(
        "v",
        Arc::new(StringArray::from(vec!["1", "one", "3"])) as _,
    )]);
    let (_, refused) = block_on(validate.process_rows(&context("a", 0), input)).unwrap();
    let refused = refused.unwrap();
    assert_eq!(refused.processor(), "validate");
    assert_eq!(refused.rows().column(0).as_string::<i32>().value(0), "one");
    // Without a dead-letter path, an invalid row fails the batch.
    let input = batch(vec![("v", Arc::new(StringArray::from(vec!["one"])) as _)]);
    let err = block_on(validate.process(input)).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
    assert!(err.to_string().contains("\"one\" is not a int64"), "{err}");
}

#[test]
fn a_missing_required_column_refuses_every_row() {
    let validate = Validate::new(
        ValidateConfig::new()
            .with_column(ColumnRule::new("ts"))
            .with_column(
                ColumnRule::new("note")
                    .with_required(false)
                    .with_nullable(false),
            ),
    )
    .unwrap();
    let input = batch(vec![("v", Arc::new(Int64Array::from(vec![1, 2])) as _)]);
    let (valid, reasons) = split(&validate, input);
    assert_eq!(valid.num_rows(), 0);
    assert_eq!(reasons, vec!["ts: missing column"; 2]);
}

#[test]
fn the_unique_key_holds_across_batches_and_items() {
    let config = ValidateConfig::new().with_unique(&["sensor", "n"]);
    let mut validate = Validate::new(config.clone()).unwrap();
    let rows = |sensors: Vec<&str>, n: Vec<i64>| {
        batch(vec![
            ("sensor", Arc::new(StringArray::from(sensors)) as _),
            ("n", Arc::new(Int64Array::from(n)) as _),
        ])
    };
    let run = |validate: &Validate, item: &str, index, input| {
        let (valid, refused) =
            block_on(validate.process_rows(&context(item, index), input)).unwrap();
        (
            valid.num_rows().unwrap(),
            refused.map(|r| r.reasons().to_vec()).unwrap_or_default(),
        )
    };
    assert_eq!(
        run(
            &validate,
            "a",
            0,
            rows(vec!["s1", "s1", "s2", "s1"], vec![1, 2, 1, 1])
        ),
        (3, vec!["duplicate key (\"s1\", 1)".to_owned()])
    );
    assert_eq!(
        run(&validate, "a", 1, rows(vec!["s2", "s3"], vec![1, 1])),
        (1, vec!["duplicate key (\"s2\", 1)".to_owned()])
    );
    validate.finish_item("a");
    let state = validate.save_state("s").unwrap();
    validate = Validate::new(config).unwrap();
    validate.restore_state("s", state).unwrap();
    assert_eq!(
        run(&validate, "b", 0, rows(vec!["s3", "s3"], vec![1, 2])),
        (1, vec!["duplicate key (\"s3\", 1)".to_owned()])
    );
}

#[test]
fn json_schema_checks_documents_and_rows() {
    let schema = json!({
        "type": "object",
        "required": ["sensor", "value"],
        "properties": {"value": {"type": "number", "maximum": 100}}
    });
    let validate = Validate::new(ValidateConfig::new().with_json_schema(schema)).unwrap();
    block_on(validate.process(Payload::Json(json!({"sensor": "s1", "value": 3})))).unwrap();
    let err = block_on(validate.process(Payload::Json(json!({"sensor": "s1", "value": 300}))))
        .unwrap_err();
    assert!(err.to_string().contains("/value"), "{err}");

    let input = batch(vec![
        (
            "sensor",
            Arc::new(StringArray::from(vec![Some("s1"), None, Some("s3")])) as _,
        ),
        (
            "value",
            Arc::new(Float64Array::from(vec![Some(1.0), Some(2.0), Some(101.0)])) as _,
        ),
    ]);
    let (valid, reasons) = split(&validate, input);
    assert_eq!(valid.num_rows(), 1);
    assert_eq!(reasons.len(), 2);
    assert!(reasons[0].contains("sensor"), "{}", reasons[0]);
    assert!(reasons[1].contains("/value"), "{}", reasons[1]);
}

#[test]
fn bad_rules_are_configuration_errors() {
    for config in [
        json!({"columns": [{"name": ""}]}),
        json!({"columns": [{"name": "a"}, {"name": "a"}]}),
        json!({"columns": [{"name": "a", "min": 3, "max": 1}]}),
        json!({"columns": [{"name": "a", "allowed": [[1]]}]}),
        json!({"columns": [{"name": "a", "pattern": "("}]}),
        json!({"json_schema": {"type": 12}}),
        json!({"unique": [""]}),
    ] {
        let config: ValidateConfig = serde_json::from_value(config.clone()).unwrap();
        let err = Validate::new(config).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration, "{err}");
    }
    assert!(serde_json::from_value::<ValidateConfig>(json!({"colums": []})).is_err());
    // A range on text and a type that cannot be read are errors of the batch.
    let validate = Validate::new(
        ValidateConfig::new().with_column(ColumnRule::new("t").with_range(Some(0.0), None)),
    )
    .unwrap();
    let input = batch(vec![("t", Arc::new(StringArray::from(vec!["a"])) as _)]);
    let err = block_on(validate.process_rows(&context("a", 0), input)).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
    assert!(block_on(validate.process(Payload::Bytes("x".into()))).is_err());
}
