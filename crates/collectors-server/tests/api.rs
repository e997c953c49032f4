//! The REST API through `Router::oneshot`: every route, and its error paths.

mod common;

use axum::http::StatusCode;
use common::{TestService, csv_sample, multipart};
use serde_json::{Value, json};

#[tokio::test]
async fn health_needs_no_token_and_everything_else_does() {
    let t = TestService::start(0).await;
    let (status, body) = t.call_without_token("GET", "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    for path in [
        "/ready",
        "/metrics",
        "/api/files",
        "/api/etl/results",
        "/api/openapi.json",
    ] {
        let (status, body) = t.call_without_token("GET", path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"]["code"], "unauthorized", "{path}");
    }
    let (status, _) = t.call_with_token("GET", "/ready", "not-the-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = t.get("/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn files_are_uploaded_listed_read_and_deleted() {
    let t = TestService::start(0).await;
    let bytes = csv_sample();
    let (status, file) = t.upload("sensors-000.csv", "text/csv", &bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["name"], "sensors-000.csv");
    assert_eq!(file["content_type"], "text/csv");
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(file["checksum"], format!("sha256:{digest}"));
    let id = file["id"].as_str().unwrap().to_owned();

    let (status, page) = t.get("/api/files?limit=10").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], id.as_str());
    let (status, one) = t.get(&format!("/api/files/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, file);
    let (status, content) = t.get_bytes(&format!("/api/files/{id}/content")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content, bytes);

    let (status, _) = t.call("DELETE", &format!("/api/files/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = t.get(&format!("/api/files/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = t.get_bytes(&format!("/api/files/{id}/content")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_uploads_get_typed_errors_and_store_nothing() {
    let t = TestService::start_with(0, |c| c.max_upload_bytes = 1000).await;
    for hostile in ["../../etc/passwd", "..", "a/b.csv", "..\\x.csv"] {
        let (status, body) = t.upload(hostile, "text/csv", b"a\n1\n").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{hostile}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
    }
    let (status, body) = t.upload("big.csv", "text/csv", &vec![b'x'; 5000]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    let (status, body) = t
        .call("POST", "/api/files", Some(json!({"not": "multipart"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = t.get("/api/files/not-a-uuid").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an id that is no UUID names nothing"
    );
    let (_, page) = t.get("/api/files").await;
    assert_eq!(page["total"], 0, "nothing was recorded");
    let stored = walk(&t.dir.path().join("store"));
    assert!(stored.is_empty(), "no object was left behind: {stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn process_requests_are_checked_before_they_are_queued() {
    let t = TestService::start(0).await;
    let (_, file) = t.upload("sensors.csv", "text/csv", &csv_sample()).await;
    let id = file["id"].as_str().unwrap();
    let cases = [
        (json!({"processing_type": 5}), StatusCode::BAD_REQUEST),
        (
            json!({"processing_type": "nope", "data_file_id": id}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"processing_type": "rolling_mean", "data_file_id": id,
                   "parameters": {"value": "value", "window": "three"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"processing_type": "rolling_mean", "parameters": {"value": "v", "window": 3}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"processing_type": "rolling_mean", "data_file_id": uuid::Uuid::new_v4(),
                   "parameters": {"value": "value", "window": 3}}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"processing_type": "custom", "data_file_id": id}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"processing_type": "pipeline", "pipeline": {"name": "missing"}}),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = t.call("POST", "/api/etl/process", Some(body.clone())).await;
        assert_eq!(status, expected, "{body} → {answer}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
    }
    let (status, answer) = t
        .call_raw(
            "POST",
            "/api/etl/process",
            "application/json",
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, answer) = t
        .call_raw("POST", "/api/etl/process", "text/plain", b"{}".to_vec())
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
    let (_, page) = t.get("/api/etl/results").await;
    assert_eq!(page["total"], 0, "no bad request was queued: {page}");
}

#[tokio::test]
async fn a_batch_is_queued_all_or_none() {
    let t = TestService::start(0).await;
    let (_, file) = t.upload("sensors.csv", "text/csv", &csv_sample()).await;
    let good = json!({"processing_type": "rolling_mean", "data_file_id": file["id"],
                      "parameters": {"value": "value", "window": 3}});
    let bad = json!({"processing_type": "rolling_mean", "data_file_id": file["id"],
                     "parameters": {"value": "value", "window": "three"}});
    let (status, answer) = t
        .call(
            "POST",
            "/api/etl/process/batch",
            Some(json!({"requests": [good, bad, good]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("/requests/1/parameters/window: "),
        "{message}"
    );
    for body in [json!({"requests": []}), json!({"requests": {}}), json!({})] {
        let (status, answer) = t
            .call("POST", "/api/etl/process/batch", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
    }
    let too_many: Vec<_> = (0..1001)
        .map(|_| json!({"processing_type": "noop"}))
        .collect();
    let (status, _) = t
        .call(
            "POST",
            "/api/etl/process/batch",
            Some(json!({"requests": too_many})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, page) = t.get("/api/etl/results").await;
    assert_eq!(
        page["total"], 0,
        "nothing of a refused batch was queued: {page}"
    );

    let noop = json!({"processing_type": "noop"});
    let (status, answer) = t
        .call(
            "POST",
            "/api/etl/process/batch",
            Some(json!({"requests": [good, noop, good]})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let accepted = answer["accepted"].as_array().unwrap();
    assert_eq!(accepted.len(), 3);
    let (_, second) = t
        .get(&format!(
            "/api/etl/results/{}",
            accepted[1]["result_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        second["processing_type"], "noop",
        "in the request's order: {second}"
    );
    assert_eq!(second["status"], "PENDING");
    let (_, page) = t.get("/api/etl/results?type=rolling_mean").await;
    assert_eq!(page["total"], 2, "{page}");
}

#[tokio::test]
async fn results_are_listed_cancelled_and_deleted() {
    let t = TestService::start(0).await;
    let (_, file) = t.upload("sensors.csv", "text/csv", &csv_sample()).await;
    let request = json!({"processing_type": "rolling_mean", "data_file_id": file["id"],
                         "parameters": {"key": "sensor_id", "value": "value", "window": 3}});
    let (status, accepted) = t.call("POST", "/api/etl/process", Some(request)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["status"], "PENDING");
    let id = accepted["result_id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["task_id"], id.as_str());
    let (status, noop) = t
        .call(
            "POST",
            "/api/etl/process",
            Some(json!({"processing_type": "noop"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let (_, page) = t
        .get("/api/etl/results?status=PENDING&type=rolling_mean")
        .await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["id"], id.as_str());
    let (_, page) = t
        .get(&format!(
            "/api/etl/results?data_file_id={}",
            file["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page["total"], 1, "{page}");
    let (_, page) = t.get("/api/etl/results?limit=1&offset=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 2);
    let (status, _) = t.get("/api/etl/results?status=BOGUS").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, answer) = t
        .get(&format!("/api/etl/results/{id}/export?format=csv"))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a pending result has no export: {answer}"
    );
    for query in ["limit=0", "limit=1001", "offset=2147483648", "offset=-1"] {
        let (status, answer) = t.get(&format!("/api/etl/results?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
        let (status, answer) = t.get(&format!("/api/files?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
    }
    let (status, _) = t
        .call("DELETE", &format!("/api/etl/results/{id}"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "a pending result is cancelled and deleted"
    );
    let (status, _) = t.get(&format!("/api/etl/results/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .get(&format!("/api/etl/results/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let _ = noop;
}

#[tokio::test]
async fn pipelines_are_registered_run_and_removed() {
    let t = TestService::start(0).await;
    let (status, answer) = t
        .call(
            "PUT",
            "/api/pipelines/bad",
            Some(json!({"name": "bad", "source": []})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let spec = json!({
        "name": "copy",
        "source": [{"id": "in", "kind": "local", "path": "in", "pattern": "*.csv", "format": "csv"}],
        "store": {"kind": "file", "path": "out"},
    });
    let (status, registered) = t
        .call("PUT", "/api/pipelines/copy", Some(spec.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    assert_eq!(registered["spec"], spec);
    let (_, list) = t.get("/api/pipelines").await;
    assert_eq!(list[0]["name"], "copy");
    let (status, accepted) = t.call("POST", "/api/pipelines/copy/run", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let (_, result) = t
        .get(&format!(
            "/api/etl/results/{}",
            accepted["result_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(result["processing_type"], "pipeline");
    let (status, _) = t.call("PUT", "/api/pipelines/..", Some(spec)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a hostile name is refused");
    let (status, _) = t.call("DELETE", "/api/pipelines/copy", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.get("/api/pipelines/copy").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.call("POST", "/api/pipelines/copy/run", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn data_sources_are_managed_sanitized_tested_and_ingested() {
    let t = TestService::start(1).await;
    let source_dir = t.dir.path().join("incoming");
    std::fs::create_dir_all(&source_dir).unwrap();
    std::fs::write(source_dir.join("a.csv"), csv_sample()).unwrap();
    std::fs::write(source_dir.join("b.txt"), b"skip me").unwrap();
    let config = json!({
        "id": "incoming", "type": "local_file", "name": "Incoming",
        "config": {"uri": source_dir, "password": "hunter2"},
    });
    let (status, refused) = t.call("POST", "/api/data-sources", Some(config)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a directory takes no password: {refused}"
    );
    let config = json!({
        "id": "incoming", "type": "local_file", "name": "Incoming", "config": {"uri": source_dir},
    });
    let (status, created) = t.call("POST", "/api/data-sources", Some(config)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // A secret setting is kept encrypted and never shown.
    let warehouse = json!({
        "id": "warehouse", "type": "postgresql",
        "config": {"uri": "postgres://reader@db.internal:5433/sensors", "password": "hunter2"},
    });
    let (status, created) = t.call("POST", "/api/data-sources", Some(warehouse)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(
        !created.to_string().contains("hunter2"),
        "sanitized: {created}"
    );
    let (status, _) = t.call("DELETE", "/api/data-sources/warehouse", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, again) = t
        .call(
            "POST",
            "/api/data-sources",
            Some(json!({
        "id": "incoming", "type": "local_file", "config": {"uri": source_dir}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (_, list) = t.get("/api/data-sources").await;
    assert_eq!(list[0]["id"], "incoming");
    assert!(!list.to_string().contains("hunter2"));
    let (status, tested) = t
        .call("POST", "/api/data-sources/incoming/test", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tested["ok"], true, "{tested}");
    let (status, ingested) = t
        .call(
            "POST",
            "/api/data-sources/incoming/ingest",
            Some(json!({"pattern": "*.csv"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "an ingest is a job: {ingested}"
    );
    let result = t
        .wait_until_finished(ingested["result_id"].as_str().unwrap())
        .await;
    assert_eq!(result["status"], "COMPLETED", "{result}");
    assert_eq!(result["processing_type"], "ingest");
    let files = result["result_data"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{result}");
    assert_eq!(files[0]["name"], "a.csv");
    assert_eq!(files[0]["size"], csv_sample().len());
    let (_, content) = t
        .get_bytes(&format!(
            "/api/files/{}/content",
            files[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(content, csv_sample(), "the item's bytes are the file's");
    let (status, _) = t
        .call(
            "POST",
            "/api/data-sources/incoming/ingest",
            Some(json!({"limit": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = t
        .call("POST", "/api/data-sources/nope/ingest", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.call("DELETE", "/api/data-sources/incoming", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.get("/api/data-sources/incoming").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .call("POST", "/api/data-sources/incoming/test", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let t = TestService::start(0).await;
    t.get("/api/files").await;
    let (status, text) = t.get_bytes("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("collectors_queue_depth"), "{text}");
    assert!(
        text.contains("collectors_jobs{status=\"PENDING\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn the_openapi_document_is_served_and_kept_in_docs() {
    let t = TestService::start(0).await;
    let (status, served) = t.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, t.service.openapi());
    for path in [
        "/api/files",
        "/api/etl/process",
        "/api/etl/results/{id}/export",
        "/health",
    ] {
        assert!(served["paths"][path].is_object(), "{path} is documented");
    }
    // The WebSocket is described in the info, not as an operation no HTTP client can call.
    assert!(served["paths"]["/api/ws"].is_null());
    assert!(
        served["info"]["description"]
            .as_str()
            .unwrap()
            .contains("GET /api/ws")
    );
    assert!(served["components"]["schemas"]["EtlUpdate"].is_object());
    let schemas = &served["components"]["schemas"];
    assert!(
        schemas["processor.rolling_mean"].is_object(),
        "processor schemas are included"
    );
    assert!(schemas["processor.peak_detection"].is_object());
    assert!(
        !served.to_string().contains("#/$defs/"),
        "every $ref resolves in the document"
    );
    let committed =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&committed, &pretty).unwrap();
    }
    let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        on_disk == pretty,
        "docs/openapi.json differs from the served document: run \
         `UPDATE_OPENAPI=1 cargo test -p collectors-server --all-features --test api` and commit it \
         (the document lists the connectors the features compile in)"
    );
}

#[tokio::test]
async fn a_processing_request_runs_and_exports_what_the_processor_computes() {
    let t = TestService::start(1).await;
    let bytes = csv_sample();
    let (_, file) = t.upload("sensors-000.csv", "text/csv", &bytes).await;
    let request = json!({"processing_type": "rolling_mean", "data_file_id": file["id"],
                         "decoder": common::sensor_schema(),
                         "parameters": {"key": "sensor_id", "value": "value", "window": 3}});
    let (_, accepted) = t.call("POST", "/api/etl/process", Some(request)).await;
    let id = accepted["result_id"].as_str().unwrap().to_owned();
    let result = t.wait_until_finished(&id).await;
    assert_eq!(result["status"], "COMPLETED", "{result}");
    assert_eq!(result["progress"], 100.0);
    let good = common::good_rows(&bytes).len();
    let counts = &result["result_data"]["summary"]["counts"];
    assert_eq!(result["result_data"]["rows"], good, "{result}");
    assert_eq!(
        counts["collected"].as_u64().unwrap(),
        counts["stored"].as_u64().unwrap() + counts["dead_lettered"].as_u64().unwrap(),
        "every record ends stored or dead-lettered: {counts}"
    );

    let (status, csv) = t
        .get_bytes(&format!("/api/etl/results/{id}/export?format=csv"))
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&csv));
    let exported = common::rolling_means_of_csv_export(&csv);
    let expected = common::rolling_means(&bytes, 3);
    assert_eq!(exported.len(), expected.len());
    for (got, want) in exported.iter().zip(&expected) {
        assert_eq!(got.0, want.0);
        assert!((got.1 - want.1).abs() < 1e-9, "{got:?} vs {want:?}");
    }
    let (status, json_rows) = t
        .get(&format!("/api/etl/results/{id}/export?format=json"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json_rows.as_array().unwrap().len(), good);
    assert!(
        json_rows[0]["value_rolling_mean"].is_number(),
        "{}",
        json_rows[0]
    );
    let _ = multipart;
    let _: Value = result;
}

#[tokio::test]
async fn bodies_are_checked_against_the_served_document() {
    let t = TestService::start(0).await;
    let (_, file) = t.upload("sensors.csv", "text/csv", &csv_sample()).await;
    let cases = [
        (
            json!({"processing_type": "rolling_mean", "data_file_id": file["id"]}),
            "/: \"parameters\" is a required property",
        ),
        (
            json!({"processing_type": "peak_detection", "data_file_id": file["id"],
                   "parameters": {"value": "value", "window": 3}}),
            "/parameters: Additional properties are not allowed",
        ),
        (
            json!({"processing_type": "map", "data_file_id": file["id"], "pipeline": [null, null]}),
            "Additional properties are not allowed ('pipeline' was unexpected)",
        ),
        (
            json!({"processing_type": "no_such_step", "data_file_id": file["id"]}),
            "/processing_type: must be one of `data_quality`",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = t.call("POST", "/api/etl/process", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body} → {message}");
    }
    // What the schema calls an integer is one, whatever its spelling.
    let (status, answer) = t
        .call(
            "POST",
            "/api/etl/process",
            Some(json!({"processing_type": "rolling_mean",
        "data_file_id": file["id"], "max_attempts": 2.0,
        "parameters": {"value": "value", "window": 3.0}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");

    let spec = json!({
        "name": "copy",
        "source": [{"id": "in", "kind": "local", "path": "in", "format": "csv"}],
        "processor": [{"type": "rolling_mean", "value": "v", "window": "three"}],
        "store": {"kind": "file", "path": "out"},
    });
    let (status, answer) = t.call("PUT", "/api/pipelines/copy", Some(spec)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("/processor/0/window: "),
        "the error speaks for the variant the type picks: {message}"
    );
    let spec = json!({
        "name": "copy",
        "source": [{"id": "in", "kind": "ftp", "path": "in", "format": "csv"}],
        "store": {"kind": "file", "path": "out"},
    });
    let (_, answer) = t.call("PUT", "/api/pipelines/copy", Some(spec)).await;
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("/source/0/kind: must be one of `local`"),
        "{message}"
    );
    for name in ["-lead", "a b", "x".repeat(129).as_str()] {
        let spec = json!({"name": "n", "source": [{"id": "in", "kind": "local", "path": "in",
                          "format": "csv"}], "store": {"kind": "file", "path": "out"}});
        let path = format!("/api/pipelines/{}", name.replace(' ', "%20"));
        let (status, _) = t.call("PUT", &path, Some(spec)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "pipeline name {name:?}");
    }
}

#[tokio::test]
async fn an_upload_is_one_part_and_a_refused_one_leaves_nothing() {
    let t = TestService::start(0).await;
    let boundary = "b0undary";
    let extra_after = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nx,y\n1,2\n\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let extra_before = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\
         \r\nx\n--{boundary}--\r\n"
    );
    for body in [extra_after, extra_before] {
        let (status, answer) = t
            .call_raw(
                "POST",
                "/api/files",
                &format!("multipart/form-data; boundary={boundary}"),
                body.into_bytes(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("unexpected form part \"note\""),
            "{answer}"
        );
    }
    let (_, page) = t.get("/api/files").await;
    assert_eq!(page["total"], 0, "the refused upload left no file: {page}");
}

#[tokio::test]
async fn the_document_offers_the_registered_connectors_and_a_replacement_takes_the_paths_id() {
    let t = TestService::start(0).await;
    let served = t.service.openapi();
    let body = &served["components"]["schemas"]["DataSourceBody"];
    let types: Vec<&str> = body["discriminator"]["mapping"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        types.contains(&"local_file") && types.contains(&"postgresql"),
        "{types:?}"
    );
    assert!(
        !types.contains(&"custom"),
        "no factory serves `custom`, so the document does not offer it"
    );
    let dir = tempfile::tempdir().unwrap();
    let uri = dir.path().display().to_string();
    let config = json!({"id": "incoming", "type": "local_file", "config": {"uri": uri}});
    let (status, answer) = t.call("POST", "/api/data-sources", Some(config)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let replacement = json!({"type": "local_file", "name": "renamed", "config": {"uri": uri}});
    let (status, answer) = t
        .call("PUT", "/api/data-sources/incoming", Some(replacement))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["id"], "incoming");
    assert_eq!(answer["name"], "renamed");
    let with_id = json!({"id": "other", "type": "local_file", "config": {"uri": uri}});
    let (status, _) = t
        .call("PUT", "/api/data-sources/incoming", Some(with_id))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the id is the path's");
}
