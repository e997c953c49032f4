//! The script processor: the table ↔ script contract, the sandbox's limits (each one
//! stops a hostile script with an error naming the script and the line, and the
//! processor goes on), the cache, and bad configurations.
#![cfg(feature = "scripts")]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use collectors_core::{Error, Payload, Processor};
use collectors_processors::{
    SCRIPT_RESULT_METADATA_KEY, ScriptConfig, ScriptLimits, ScriptProcessor,
};
use serde_json::json;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}

fn write(dir: &Path, name: &str, source: &str) {
    std::fs::write(dir.join(format!("{name}.rhai")), source).expect("script written");
}

fn script(dir: &Path, name: &str, source: &str, limits: ScriptLimits) -> ScriptProcessor {
    write(dir, name, source);
    ScriptProcessor::new(
        ScriptConfig::new(name)
            .with_scripts_dir(dir)
            .with_limits(limits),
    )
    .expect("the script loads")
}

fn build_err(dir: &Path, name: &str, source: &str, limits: ScriptLimits) -> Error {
    write(dir, name, source);
    ScriptProcessor::new(
        ScriptConfig::new(name)
            .with_scripts_dir(dir)
            .with_limits(limits),
    )
    .expect_err("the script is refused at load")
}

fn sample() -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int32Array::from(vec![Some(1), Some(2), None])) as ArrayRef,
        ),
        (
            "value",
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(f64::NAN)])) as _,
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])) as _,
        ),
        (
            "ok",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])) as _,
        ),
        (
            "ts",
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(1_000), Some(2_000), None])
                    .with_timezone("+00:00"),
            ) as _,
        ),
    ])
    .expect("a batch")
}

fn run(processor: &ScriptProcessor, batch: RecordBatch) -> collectors_core::Result<Payload> {
    block_on(processor.process(Payload::Table(batch)))
}

fn processing_message(result: collectors_core::Result<Payload>) -> String {
    match result {
        Err(e @ Error::Processing { .. }) => e.to_string(),
        other => panic!("expected a processing error, got {other:?}"),
    }
}

const SPIN: &str = "fn process(table, params) {\n    let n = 0;\n    loop { n += 1; }\n}\n";

// --- the contract -----------------------------------------------------------------------

#[test]
fn the_script_sees_columns_nulls_row_count_schema_and_params() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "look",
        r#"
fn process(table, params) {
    #{
        rows: table.num_rows,
        names: table.schema.map(|f| f.name),
        types: table.schema.map(|f| f.type),
        id: table.columns.id,
        value_is_nan: table.columns.value[2].is_nan(),
        value_null: table.columns.value[1] == (),
        name: table.columns.name,
        ok: table.columns.ok,
        ts: table.columns.ts,
        factor: params.factor,
        nested: params.nested.list[1],
    }
}
"#,
    );
    let processor = ScriptProcessor::new(
        ScriptConfig::new("look")
            .with_scripts_dir(dir.path())
            .with_param("factor", 2.5)
            .with_param("nested", json!({"list": [1, "two"]})),
    )
    .unwrap();
    let out = run(&processor, sample()).unwrap();
    let out = out.as_json().unwrap();
    assert_eq!(out["rows"], 3);
    assert_eq!(out["names"], json!(["id", "value", "name", "ok", "ts"]));
    assert_eq!(out["types"][0], "Int32");
    assert_eq!(out["types"][1], "Float64");
    assert_eq!(out["id"], json!([1, 2, null]));
    assert_eq!(out["value_is_nan"], true);
    assert_eq!(out["value_null"], true);
    assert_eq!(out["name"], json!(["a", "b", null]));
    assert_eq!(out["ok"], json!([true, null, false]));
    assert_eq!(out["ts"], json!([1000, 2000, null]));
    assert_eq!(out["factor"], 2.5);
    assert_eq!(out["nested"], "two");
}

#[test]
fn a_returned_table_keeps_input_types_when_passed_through_and_infers_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let processor = script(
        dir.path(),
        "reshape",
        r#"
fn process(table, params) {
    let c = table.columns;
    let doubled = [];
    for v in c.id { doubled.push(if v == () { () } else { v * 2 }); }
    #{ table: #{ columns: #{
        ts: c.ts,
        id: doubled,
        name: c.name,
        mixed: [1, 2.5, ()],
        label: ["x", 'y', ()],
        nothing: [(), (), ()],
    } }, result: #{ note: "reshaped", bad: 0.0 / 0.0 } }
}
"#,
        ScriptLimits::default(),
    );
    let out = run(&processor, sample()).unwrap();
    let table = out.as_table().unwrap();
    let schema = table.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    // Input columns in input order, then new ones by name.
    assert_eq!(names, ["id", "name", "ts", "label", "mixed", "nothing"]);
    assert_eq!(schema.field(0).data_type(), &DataType::Int32);
    let ids = table.column(0).as_primitive::<Int32Type>();
    assert_eq!(ids.iter().collect::<Vec<_>>(), [Some(2), Some(4), None]);
    assert_eq!(
        schema.field(2).data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()))
    );
    assert_eq!(table.column(2).to_data(), sample().column(4).to_data());
    let mixed = table.column(4).as_primitive::<Float64Type>();
    assert_eq!(
        mixed.iter().collect::<Vec<_>>(),
        [Some(1.0), Some(2.5), None]
    );
    let label = table.column(3).as_string::<i32>();
    assert_eq!(
        label.iter().collect::<Vec<_>>(),
        [Some("x"), Some("y"), None]
    );
    assert_eq!(schema.field(5).data_type(), &DataType::Utf8);
    assert_eq!(table.column(5).null_count(), 3);
    // The result travels in the schema metadata; NaN became null.
    let result: serde_json::Value =
        serde_json::from_str(&schema.metadata()[SCRIPT_RESULT_METADATA_KEY]).unwrap();
    assert_eq!(result, json!({"note": "reshaped", "bad": null}));
}

#[test]
fn an_int_column_that_becomes_floats_is_a_float_column() {
    let dir = tempfile::tempdir().unwrap();
    let processor = script(
        dir.path(),
        "halve",
        "fn process(table, params) { #{ table: #{ columns: #{ id: table.columns.id.map(|v| if v == () { () } else { v / 2.0 }) } } } }",
        ScriptLimits::default(),
    );
    let out = run(&processor, sample()).unwrap();
    let table = out.as_table().unwrap();
    let ids = table.column(0).as_primitive::<Float64Type>();
    assert_eq!(ids.iter().collect::<Vec<_>>(), [Some(0.5), Some(1.0), None]);
}

#[test]
fn an_empty_batch_reaches_the_script_with_empty_columns() {
    let dir = tempfile::tempdir().unwrap();
    let processor = script(
        dir.path(),
        "empty",
        "fn process(table, params) { #{ table: #{ columns: #{ id: table.columns.id, n: [] } }, result: #{ rows: table.num_rows } } }",
        ScriptLimits::default(),
    );
    let out = run(&processor, sample().slice(0, 0)).unwrap();
    let table = out.as_table().unwrap();
    assert_eq!(table.num_rows(), 0);
    assert_eq!(table.schema().field(0).data_type(), &DataType::Int32);
}

#[test]
fn bad_outputs_are_processing_errors_naming_the_column_or_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "not_a_map",
            "fn process(table, params) { 42 }",
            "returned a i64",
        ),
        (
            "mixed",
            r#"fn process(table, params) { #{ table: #{ columns: #{ a: [1, "two"] } } } }"#,
            "column `a` mixes types: an integer at row 0, a string at row 1",
        ),
        (
            "lengths",
            "fn process(table, params) { #{ table: #{ columns: #{ a: [1, 2], b: [1] } } } }",
            "has 1 values, column `a` 2",
        ),
        (
            "nested",
            "fn process(table, params) { #{ table: #{ columns: #{ a: [[1]] } } } }",
            "column `a` row 0 is a array",
        ),
        (
            "not_array",
            "fn process(table, params) { #{ table: #{ columns: #{ a: 1 } } } }",
            "`table.columns.a` is a i64, not an array",
        ),
        (
            "extra_key",
            "fn process(table, params) { #{ table: table, rows: 1 } }",
            "`rows` next to `table`",
        ),
        (
            "no_columns",
            "fn process(table, params) { #{ table: #{ cols: 1 } } }",
            "`table.cols` is not part of a table",
        ),
    ];
    for (name, source, expected) in cases {
        let processor = script(dir.path(), name, source, ScriptLimits::default());
        let message = processing_message(run(&processor, sample()));
        assert!(message.contains(expected), "{name}: {message}");
        assert!(message.contains(&format!("script `{name}`")), "{message}");
    }
}

#[test]
fn a_payload_that_is_not_a_table_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let processor = script(
        dir.path(),
        "t",
        "fn process(table, params) { #{} }",
        ScriptLimits::default(),
    );
    assert!(processor.validate_input(&Payload::Json(json!(1))).is_err());
    let err = block_on(processor.process(Payload::Json(json!(1)))).unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err}");
}

// --- the sandbox's limits ---------------------------------------------------------------

#[test]
fn an_endless_loop_is_stopped_by_the_operation_limit() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ScriptLimits {
        max_operations: 100_000,
        timeout_ms: 600_000,
        ..ScriptLimits::default()
    };
    let processor = script(dir.path(), "spin", SPIN, limits);
    let message = processing_message(run(&processor, sample()));
    assert!(
        message.contains("script `spin` stopped at line 3"),
        "{message}"
    );
    assert!(
        message.contains("`limits.max_operations` = 100000"),
        "{message}"
    );
}

#[test]
fn an_endless_loop_is_stopped_by_the_wall_clock() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ScriptLimits {
        max_operations: u64::MAX,
        timeout_ms: 200,
        ..ScriptLimits::default()
    };
    let processor = script(dir.path(), "spin", SPIN, limits);
    let started = Instant::now();
    let message = processing_message(run(&processor, sample()));
    let took = started.elapsed();
    assert!(
        message.contains("script `spin` stopped at line 3"),
        "{message}"
    );
    assert!(
        message.contains("`limits.timeout_ms` = 200 ms"),
        "{message}"
    );
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[test]
fn a_string_grown_without_bound_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ScriptLimits {
        max_string_size: 1 << 16,
        ..ScriptLimits::default()
    };
    let source = "fn process(table, params) {\n    let s = \"x\";\n    loop { s += s; }\n}\n";
    let processor = script(dir.path(), "grow", source, limits);
    let message = processing_message(run(&processor, sample()));
    assert!(
        message.contains("script `grow` stopped at line 3"),
        "{message}"
    );
    assert!(
        message.contains("`limits.max_string_size` = 65536 bytes"),
        "{message}"
    );
}

#[test]
fn an_array_grown_without_bound_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ScriptLimits {
        max_array_size: 1000,
        ..ScriptLimits::default()
    };
    let source = "fn process(table, params) {\n    let a = [];\n    loop { a.push(1); }\n}\n";
    let processor = script(dir.path(), "grow", source, limits);
    let message = processing_message(run(&processor, sample()));
    assert!(
        message.contains("script `grow` stopped at line 3"),
        "{message}"
    );
    assert!(
        message.contains("`limits.max_array_size` = 1000"),
        "{message}"
    );
}

#[test]
fn a_map_grown_without_bound_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ScriptLimits {
        max_map_size: 1000,
        ..ScriptLimits::default()
    };
    let source = "fn process(table, params) {\n    let m = #{};\n    let i = 0;\n    loop { m[`k${i}`] = i; i += 1; }\n}\n";
    let processor = script(dir.path(), "grow", source, limits);
    let message = processing_message(run(&processor, sample()));
    assert!(
        message.contains("script `grow` stopped at line 4"),
        "{message}"
    );
    assert!(
        message.contains("`limits.max_map_size` = 1000"),
        "{message}"
    );
}

#[test]
fn a_batch_larger_than_the_array_limit_is_refused_before_the_script_runs() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ScriptLimits {
        max_array_size: 2,
        ..ScriptLimits::default()
    };
    let processor = script(dir.path(), "t", "fn process(table, params) { #{} }", limits);
    let message = processing_message(run(&processor, sample()));
    assert!(
        message.contains("a batch of 3 rows is larger than `limits.max_array_size` = 2"),
        "{message}"
    );
}

#[test]
fn endless_recursion_is_stopped_at_the_call_limit_with_the_default_and_the_largest_limit() {
    let dir = tempfile::tempdir().unwrap();
    let source = "fn down(n) {\n    down(n + 1)\n}\nfn process(table, params) {\n    down(0)\n}\n";
    for levels in [
        ScriptLimits::default().max_call_levels,
        collectors_processors::MAX_CALL_LEVELS,
    ] {
        let limits = ScriptLimits {
            max_call_levels: levels,
            ..ScriptLimits::default()
        };
        let processor = script(dir.path(), "deep", source, limits);
        let message = processing_message(run(&processor, sample()));
        assert!(
            message.contains("script `deep` stopped at line 2"),
            "{message}"
        );
        assert!(
            message.contains(&format!("`limits.max_call_levels` = {levels}")),
            "{message}"
        );
    }
}

#[test]
fn a_deeply_nested_expression_is_refused_at_load_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let nested = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    let source = format!("fn process(table, params) {{\n    #{{}}\n}}\nlet x = {nested};\n");
    let err = build_err(dir.path(), "nest", &source, ScriptLimits::default());
    let message = err.to_string();
    assert!(matches!(err, Error::Configuration { .. }), "{message}");
    assert!(message.contains("script `nest`"), "{message}");
    assert!(message.contains("at line 4"), "{message}");
    assert!(message.contains("syntax error"), "{message}");
}

#[test]
fn a_throw_stops_the_script_with_its_message_and_line_and_the_processor_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let source = "fn process(table, params) {\n    if table.num_rows > 2 {\n        throw \"too many rows\";\n    }\n    #{ rows: table.num_rows }\n}\n";
    let processor = script(dir.path(), "picky", source, ScriptLimits::default());
    let message = processing_message(run(&processor, sample()));
    assert!(
        message.contains("script `picky` stopped at line 3: threw too many rows"),
        "{message}"
    );
    assert!(
        message.contains("[picky]"),
        "names the processor: {message}"
    );
    // The same processor handles the next batch.
    let out = run(&processor, sample().slice(0, 2)).unwrap();
    assert_eq!(out.as_json().unwrap(), &json!({"rows": 2}));
}

#[test]
fn eval_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = "fn process(table, params) {\n    eval(\"40 + 2\")\n}\n";
    let err = build_err(dir.path(), "evil", source, ScriptLimits::default());
    let message = err.to_string();
    assert!(matches!(err, Error::Configuration { .. }), "{message}");
    assert!(message.contains("script `evil`"), "{message}");
    assert!(message.contains("at line 2"), "{message}");
}

#[test]
fn sleep_is_refused_since_no_deadline_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ScriptLimits {
        timeout_ms: 100,
        ..ScriptLimits::default()
    };
    for (name, call) in [("nap", "sleep(3600)"), ("nap_f", "sleep(3600.0)")] {
        let source = format!("fn process(table, params) {{\n    {call};\n    #{{}}\n}}\n");
        let processor = script(dir.path(), name, &source, limits.clone());
        let started = Instant::now();
        let message = processing_message(run(&processor, sample()));
        assert!(started.elapsed() < Duration::from_secs(60));
        assert!(
            message.contains(&format!("script `{name}` stopped at line 2")),
            "{message}"
        );
        assert!(message.contains("`sleep` is not available"), "{message}");
    }
}

#[test]
fn import_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "helper",
        "fn process(table, params) { #{} }\nfn secret() { 42 }\n",
    );
    let source =
        "fn process(table, params) {\n    import \"helper\" as h;\n    #{ v: h::secret() }\n}\n";
    let processor = script(dir.path(), "importer", source, ScriptLimits::default());
    let message = processing_message(run(&processor, sample()));
    assert!(
        message.contains("script `importer` stopped at line 2"),
        "{message}"
    );
    assert!(message.contains("Module not found: helper"), "{message}");
}

#[test]
fn a_syntax_error_is_refused_at_load_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = "fn process(table, params) {\n    let x = ;\n}\n";
    let err = build_err(dir.path(), "broken", source, ScriptLimits::default());
    let message = err.to_string();
    assert!(matches!(err, Error::Configuration { .. }), "{message}");
    assert!(message.contains("broken.rhai"), "{message}");
    assert!(message.contains("at line 2: syntax error"), "{message}");
}

#[test]
fn undeclared_variables_and_a_missing_process_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let err = build_err(
        dir.path(),
        "typo",
        "fn process(table, params) {\n    tabel.num_rows\n}\n",
        ScriptLimits::default(),
    );
    assert!(err.to_string().contains("at line 2"), "{err}");
    let err = build_err(
        dir.path(),
        "none",
        "fn run(table) { 1 }\n",
        ScriptLimits::default(),
    );
    assert!(
        err.to_string()
            .contains("defines no `fn process(table, params)`"),
        "{err}"
    );
}

// --- files, names and the cache ---------------------------------------------------------

#[test]
fn a_missing_script_is_a_configuration_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        ScriptProcessor::new(ScriptConfig::new("absent").with_scripts_dir(dir.path())).unwrap_err();
    assert!(matches!(err, Error::Configuration { .. }), "{err}");
    let path = dir.path().join("absent.rhai");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn hostile_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    write(dir.path(), "outside", "fn process(table, params) { #{} }");
    let scripts = dir.path().join("scripts");
    let outside = dir.path().join("outside").display().to_string();
    for name in [
        "../outside",
        outside.as_str(),
        "a/b",
        "",
        "x.y",
        "..",
        "a\0b",
    ] {
        let err =
            ScriptProcessor::new(ScriptConfig::new(name).with_scripts_dir(&scripts)).unwrap_err();
        assert!(
            matches!(err, Error::Configuration { .. }),
            "{name:?}: {err}"
        );
        assert!(err.to_string().contains("`name`"), "{name:?}: {err}");
    }
}

#[test]
fn a_limit_of_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t", "fn process(table, params) { #{} }");
    let config = ScriptConfig::new("t")
        .with_scripts_dir(dir.path())
        .with_limits(ScriptLimits {
            max_string_size: 0,
            ..ScriptLimits::default()
        });
    let err = ScriptProcessor::new(config).unwrap_err();
    assert!(
        err.to_string().contains("`limits.max_string_size`"),
        "{err}"
    );
}

#[test]
fn a_script_is_compiled_once_and_a_changed_file_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let processor = script(
        dir.path(),
        "version",
        "fn process(table, params) { #{ version: 1 } }",
        ScriptLimits::default(),
    );
    for _ in 0..3 {
        let out = run(&processor, sample()).unwrap();
        assert_eq!(out.as_json().unwrap(), &json!({"version": 1}));
    }
    assert_eq!(processor.cached_versions(), 1);
    write(
        dir.path(),
        "version",
        "fn process(table, params) { #{ version: 2 } }",
    );
    let out = run(&processor, sample()).unwrap();
    assert_eq!(out.as_json().unwrap(), &json!({"version": 2}));
    assert_eq!(processor.cached_versions(), 2);
    // A change that does not compile fails the batch and keeps the processor usable.
    write(dir.path(), "version", "fn process(table, params) { #{ ");
    let err = run(&processor, sample()).unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
    write(
        dir.path(),
        "version",
        "fn process(table, params) { #{ version: 1 } }",
    );
    let out = run(&processor, sample()).unwrap();
    assert_eq!(out.as_json().unwrap(), &json!({"version": 1}));
    assert_eq!(
        processor.cached_versions(),
        2,
        "version 1 came from the cache"
    );
}

#[test]
fn the_worked_examples_run() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scripts");
    let seed = ScriptProcessor::new(
        ScriptConfig::new("example_custom_processor")
            .with_scripts_dir(&examples)
            .with_param("target_column", "value")
            .with_param("multiplier", 2),
    )
    .unwrap();
    let out = run(&seed, sample()).unwrap();
    assert_eq!(
        out.as_json().unwrap(),
        &json!({
            "message": "Custom script executed!", "processed_rows": 3,
            "target_column": "value", "multiplier": 2,
            "count": 1, "skipped": 2, "sum": 3.0, "mean": 3.0, "min": 3.0, "max": 3.0,
        })
    );
    let flag = ScriptProcessor::new(
        ScriptConfig::new("flag_out_of_range")
            .with_scripts_dir(&examples)
            .with_param("column", "id")
            .with_param("min", 0)
            .with_param("max", 1),
    )
    .unwrap();
    let out = run(&flag, sample()).unwrap();
    let table = out.as_table().unwrap();
    let flags = table.column_by_name("id_flag").unwrap().as_boolean();
    assert_eq!(
        flags.iter().collect::<Vec<_>>(),
        [Some(false), Some(true), Some(true)]
    );
    // 0.0 inside the range, the integer 1 outside: ints and floats make a float column.
    let excess = table
        .column_by_name("id_excess")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(
        excess.iter().collect::<Vec<_>>(),
        [Some(0.0), Some(1.0), None]
    );
    let schema = table.schema();
    let result = &schema.metadata()[SCRIPT_RESULT_METADATA_KEY];
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(result).unwrap(),
        json!({"rows": 3, "flagged": 2})
    );
}

#[test]
fn the_script_processor_meets_the_processor_contract() {
    let dir = tempfile::tempdir().unwrap();
    let processor = script(
        dir.path(),
        "twice",
        "fn process(table, params) {\n    table.columns.twice = table.columns.value.map(|v| v * 2.0);\n    #{ table: table }\n}\n",
        ScriptLimits::default(),
    );
    let valid = RecordBatch::try_from_iter([(
        "value",
        Arc::new(Float64Array::from(vec![1.0, 3.0])) as ArrayRef,
    )])
    .unwrap();
    block_on(collectors_core::conformance::processor(
        &processor,
        Payload::Table(valid),
        Some(Payload::Bytes("not a table".into())),
    ));
}
