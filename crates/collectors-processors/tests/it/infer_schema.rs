//! `InferSchema`: types inferred from text, then every later change reported and handled by
//! the policy (evolve, freeze, discard rows), across items with the state checkpointed.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, TimeUnit};
use collectors_core::{ErrorType, ItemContext, Payload, Processor};
use collectors_processors::{ColumnType, InferSchema, InferSchemaConfig, SchemaPolicy};

fn batch(columns: &[(&str, Vec<Option<&str>>)]) -> Payload {
    RecordBatch::try_from_iter(columns.iter().map(|(name, values)| {
        (
            *name,
            Arc::new(StringArray::from(values.clone())) as ArrayRef,
        )
    }))
    .unwrap()
    .into()
}

fn context(item: &str) -> ItemContext {
    ItemContext {
        source_id: "s".into(),
        item_id: item.into(),
        batch_index: 0,
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn first_file() -> Payload {
    batch(&[
        ("id", vec![Some("1"), Some("2"), None]),
        ("value", vec![Some("1.5"), Some("2"), Some("-3e2")]),
        ("ok", vec![Some("true"), Some("false"), Some("true")]),
        (
            "ts",
            vec![
                Some("2024-05-01 12:00:00"),
                Some("2024-05-01T12:01:00Z"),
                None,
            ],
        ),
        ("note", vec![Some("a"), Some("7"), None]),
    ])
}

#[test]
fn the_first_batch_fixes_the_narrowest_types() {
    let infer = InferSchema::new(InferSchemaConfig::default());
    let out = block_on(infer.process_in(&context("a.csv"), first_file())).unwrap();
    let table = out.as_table().unwrap();
    let types: Vec<&DataType> = table
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.data_type())
        .collect();
    assert_eq!(
        types,
        [
            &DataType::Int64,
            &DataType::Float64,
            &DataType::Boolean,
            &DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            &DataType::Utf8,
        ]
    );
    assert_eq!(
        table.column(1).as_primitive::<Float64Type>().value(2),
        -300.0
    );
    assert!(infer.changes("s").is_empty());
    assert_eq!(infer.schema("s")[0], ("id".to_owned(), ColumnType::Int64));
}

#[test]
fn evolve_reports_each_change_and_survives_a_checkpoint() {
    let mut infer = InferSchema::new(InferSchemaConfig::default());
    block_on(infer.process_in(&context("a.csv"), first_file())).unwrap();
    let state = infer.save_state("s").unwrap();
    infer = InferSchema::new(InferSchemaConfig::default());
    infer.restore_state("s", state).unwrap();
    // b.csv: `id` gets a float, `ok` and `ts` and `note` are gone, `extra` is new.
    let second = batch(&[
        ("id", vec![Some("3"), Some("4.5")]),
        ("value", vec![Some("1"), Some("2")]),
        ("extra", vec![Some("10"), None]),
    ]);
    let out = block_on(infer.process_in(&context("b.csv"), second)).unwrap();
    let table = out.as_table().unwrap();
    let names: Vec<&String> = table
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name())
        .collect();
    assert_eq!(names, ["id", "value", "ok", "ts", "note", "extra"]);
    assert_eq!(table.column(0).as_primitive::<Float64Type>().value(1), 4.5);
    assert_eq!(table.column(2).null_count(), 2);
    assert_eq!(table.column(5).as_primitive::<Int64Type>().value(0), 10);
    let changes: Vec<(String, String)> = infer
        .changes("s")
        .into_iter()
        .map(|c| (c.column, c.change))
        .collect();
    assert_eq!(
        changes,
        [
            ("id", "type_changed"),
            ("extra", "added"),
            ("ok", "dropped"),
            ("ts", "dropped"),
            ("note", "dropped"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let change = &infer.changes("s")[0];
    assert_eq!(
        (change.from, change.to),
        (Some(ColumnType::Int64), Some(ColumnType::Float64))
    );
    assert_eq!(change.item_id, "b.csv");
}

#[test]
fn freeze_refuses_and_discard_row_dead_letters() {
    let freeze = InferSchema::new(InferSchemaConfig {
        policy: SchemaPolicy::Freeze,
        ..Default::default()
    });
    block_on(freeze.process_in(&context("a.csv"), batch(&[("n", vec![Some("1")])]))).unwrap();
    for bad in [
        batch(&[("n", vec![Some("x")])]),
        batch(&[("n", vec![Some("2")]), ("m", vec![Some("1")])]),
        batch(&[("m", vec![Some("1")])]),
    ] {
        let err = block_on(freeze.process_rows(&context("b.csv"), bad)).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation);
        assert!(err.to_string().contains("frozen"), "{err}");
    }

    let discard = InferSchema::new(InferSchemaConfig {
        policy: SchemaPolicy::DiscardRow,
        ..Default::default()
    });
    block_on(discard.process_in(&context("a.csv"), batch(&[("n", vec![Some("1")])]))).unwrap();
    let (out, refused) = block_on(discard.process_rows(
        &context("b.csv"),
        batch(&[
            ("n", vec![Some("2"), Some("x"), Some("4")]),
            ("m", vec![None, None, Some("9")]),
        ]),
    ))
    .unwrap();
    assert_eq!(out.num_rows(), Some(1));
    let refused = refused.unwrap();
    assert_eq!(
        refused.reasons(),
        ["n: not a Int64 value", "m: not in the schema"]
    );
    assert_eq!(discard.schema("s").len(), 1);
    assert_eq!(discard.changes("s")[0].outcome, "rows_discarded");
    // The same new column again: its rows are refused, the change is reported once.
    let (_, refused) = block_on(discard.process_rows(
        &context("c.csv"),
        batch(&[("n", vec![Some("5")]), ("m", vec![Some("1")])]),
    ))
    .unwrap();
    assert_eq!(refused.unwrap().len(), 1);
    assert_eq!(discard.changes("s").len(), 1);
    assert!(block_on(discard.process(Payload::Json(1.into()))).is_err());
}

#[test]
fn each_batch_that_changes_the_schema_is_an_event_on_the_bus() {
    use collectors_core::{EventBus, EventEmitter, EventFilter, EventType};
    use collectors_processors::SCHEMA_EVENT_KIND;

    let bus = Arc::new(EventBus::new());
    let infer = InferSchema::new(InferSchemaConfig::default())
        .named("schema")
        .with_events(bus.clone() as Arc<dyn EventEmitter>);
    block_on(async {
        let mut events = bus
            .subscribe(
                EventFilter::all()
                    .event_type(EventType::Custom)
                    .source("schema"),
            )
            .await
            .unwrap();
        infer
            .process_in(&context("a.csv"), batch(&[("n", vec![Some("1")])]))
            .await
            .unwrap();
        // The first batch fixes the schema: no change yet. Same schema again: none either.
        infer
            .process_in(&context("b.csv"), batch(&[("n", vec![Some("2")])]))
            .await
            .unwrap();
        assert!(events.try_recv().is_none());
        infer
            .process_in(
                &context("c.csv"),
                batch(&[("n", vec![Some("2.5")]), ("extra", vec![Some("x")])]),
            )
            .await
            .unwrap();
        let event = events.try_recv().expect("the changes of c.csv");
        assert_eq!(event.data["kind"], SCHEMA_EVENT_KIND);
        assert_eq!(event.data["item_id"], "c.csv");
        let changes: Vec<(&str, &str)> = event.data["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["column"].as_str().unwrap(), c["change"].as_str().unwrap()))
            .collect();
        assert_eq!(changes, vec![("n", "type_changed"), ("extra", "added")]);
        assert!(events.try_recv().is_none());
    });
}
