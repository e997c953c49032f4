//! `collectors serve` on a real socket: upload the sample CSV, request a rolling mean and a
//! peak detection, follow the WebSocket until both complete, export CSV and compare the
//! values with an independent computation of what the processors return.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_collectors");
const TOKEN: &str = "socket-test-token-42";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Starts `collectors serve` on a free port; its address once it listens.
fn serve(data: &std::path::Path) -> (Server, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "2",
            "--data-dir",
        ])
        .arg(data)
        .env("COLLECTORS_API_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(address) = line.strip_prefix("listening on http://") {
            return (server, address.to_owned());
        }
    }
    panic!("collectors serve ended without listening");
}

fn sample() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/sensors/data/sensors-000.csv"
    ))
    .unwrap()
}

/// `(sensor_id, value)` of the lines the decoder accepts with the example's schema.
fn good_rows(csv: &[u8]) -> Vec<(String, f64)> {
    csv.split(|b| *b == b'\n')
        .skip(1)
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let fields: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
            if fields.len() != 4 || chrono::DateTime::parse_from_rfc3339(fields[0]).is_err() {
                return None;
            }
            Some((fields[1].to_owned(), fields[2].parse().ok()?))
        })
        .collect()
}

/// The peaks of each sensor's series above `height`, as `scipy.signal.find_peaks` finds
/// them (a plateau's peak is its middle sample): `(sensor, index, value)`, sorted.
fn peaks(rows: &[(String, f64)], height: f64) -> Vec<(String, u64, f64)> {
    let mut series: HashMap<&str, Vec<f64>> = HashMap::new();
    for (sensor, value) in rows {
        series.entry(sensor).or_default().push(*value);
    }
    let mut out = Vec::new();
    for (sensor, x) in series {
        let mut i = 1;
        while i + 1 < x.len() {
            if x[i - 1] < x[i] {
                let mut ahead = i + 1;
                while ahead + 1 < x.len() && x[ahead] == x[i] {
                    ahead += 1;
                }
                if x[ahead] < x[i] {
                    let middle = (i + ahead - 1) / 2;
                    if x[middle] >= height {
                        out.push((sensor.to_owned(), middle as u64, x[middle]));
                    }
                    i = ahead;
                }
            }
            i += 1;
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out
}

fn csv_columns(csv: &str, columns: &[&str]) -> Vec<Vec<String>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .iter()
                .position(|h| h == c)
                .unwrap_or_else(|| panic!("no {c} in {header:?}"))
        })
        .collect();
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            at.iter().map(|i| fields[*i].to_owned()).collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_processes_an_upload_and_reports_over_websocket() {
    let data = tempfile::tempdir().unwrap();
    let (_server, address) = serve(data.path());
    let http = reqwest::Client::new();
    let base = format!("http://{address}");

    // Follow every update from before the requests exist.
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/api/ws?token={TOKEN}"))
            .await
            .unwrap();
    let unauthorized = tokio_tungstenite::connect_async(format!("ws://{address}/api/ws")).await;
    assert!(unauthorized.is_err(), "the WebSocket needs the token too");

    let bytes = sample();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone())
            .file_name("sensors-000.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    let file: Value = http
        .post(format!("{base}/api/files"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schema = json!({"has_header": true, "schema": [
        {"name": "ts", "type": "timestamp"}, {"name": "sensor_id", "type": "utf8"},
        {"name": "value", "type": "float64"}, {"name": "status", "type": "utf8"},
    ]});
    let mut ids = Vec::new();
    for (kind, parameters) in [
        (
            "rolling_mean",
            json!({"key": "sensor_id", "value": "value", "window": 4}),
        ),
        (
            "peak_detection",
            json!({"key": "sensor_id", "value": "value", "height": 20.0}),
        ),
    ] {
        let response = http
            .post(format!("{base}/api/etl/process"))
            .bearer_auth(TOKEN)
            .json(&json!({"processing_type": kind, "data_file_id": file["id"],
                          "decoder": schema, "parameters": parameters}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        let accepted: Value = response.json().await.unwrap();
        ids.push(accepted["result_id"].as_str().unwrap().to_owned());
    }

    // Updates until both are completed.
    let mut completed = std::collections::HashSet::new();
    let mut seen_processing = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while completed.len() < ids.len() {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("both jobs complete within a minute")
            .unwrap()
            .unwrap();
        let Message::Text(text) = message else {
            continue;
        };
        let update: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(update["type"], "etl_update", "{update}");
        let id = update["result_id"].as_str().unwrap().to_owned();
        assert!(ids.contains(&id), "{update}");
        match update["status"].as_str().unwrap() {
            "PROCESSING" => seen_processing = true,
            "COMPLETED" => {
                assert_eq!(update["progress"], 100.0);
                completed.insert(id);
            }
            "FAILED" | "CANCELLED" => panic!("a job did not complete: {update}"),
            _ => {}
        }
    }
    assert!(seen_processing, "updates include the running state");
    // A client that reconnects asks for the current state.
    ws.send(Message::Text(
        json!({"type": "get_state", "result_id": ids[0]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("no state")
        };
        let reply: Value = serde_json::from_str(&text).unwrap();
        if reply["type"] == "state" {
            assert_eq!(reply["result"]["status"], "COMPLETED");
            break;
        }
    }

    let export = |id: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let response = http
                .get(format!("{base}/api/etl/results/{id}/export?format=csv"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let rows = good_rows(&bytes);
    // Rolling mean: per row, the mean of the sensor's last four values.
    let means = csv_columns(
        &export(ids[0].clone()).await,
        &["sensor_id", "value_rolling_mean"],
    );
    let mut history: HashMap<&str, Vec<f64>> = HashMap::new();
    assert_eq!(means.len(), rows.len());
    for ((sensor, value), got) in rows.iter().zip(&means) {
        let values = history.entry(sensor).or_default();
        values.push(*value);
        let tail = &values[values.len().saturating_sub(4)..];
        let want = tail.iter().sum::<f64>() / tail.len() as f64;
        assert_eq!(&got[0], sensor);
        assert!(
            (got[1].parse::<f64>().unwrap() - want).abs() < 1e-9,
            "{got:?} vs {want}"
        );
    }
    // Peaks: SciPy's indices and values per sensor.
    let mut found: Vec<(String, u64, f64)> = csv_columns(
        &export(ids[1].clone()).await,
        &["sensor_id", "index", "value"],
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].parse().unwrap(), r[2].parse().unwrap()))
    .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let expected = peaks(&rows, 20.0);
    assert!(!expected.is_empty());
    assert_eq!(found, expected);
}
