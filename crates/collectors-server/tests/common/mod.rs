//! What the server's tests share: a service in a temporary directory, requests through
//! `oneshot`, the sample CSV and an independent computation of what the processors return.

#![allow(dead_code, unreachable_pub)]

pub mod databases;

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use collectors_core::CancellationToken;
use collectors_server::{ServerConfig, Service};
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt;

pub const TOKEN: &str = "test-token-0123456789";

pub struct TestService {
    pub dir: tempfile::TempDir,
    pub service: Service,
    pub router: axum::Router,
    stop: CancellationToken,
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The first sensor file of the example.
pub fn csv_sample() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/sensors/data/sensors-000.csv"
    ))
    .unwrap()
}

impl TestService {
    /// A service with `workers` in-process workers (0: the API only).
    pub async fn start(workers: usize) -> Self {
        Self::start_with(workers, |_| {}).await
    }

    pub async fn start_with(workers: usize, adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        // The server's log in the test's output (shown when it fails).
        let _ = tracing_subscriber::fmt()
            .with_env_filter("collectors_server=info")
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path());
        config.token = Some(SecretString::from(TOKEN.to_owned()));
        config.workers = workers;
        config.queue.poll_interval = Duration::from_millis(50);
        adjust(&mut config);
        let (service, _) = Service::open(config).await.unwrap();
        let router = service.router();
        let stop = CancellationToken::new();
        if workers > 0 {
            let (service, stop) = (service.clone(), stop.clone());
            tokio::spawn(async move { service.run_workers("test", stop).await });
        }
        Self {
            dir,
            service,
            router,
            stop,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, body)
    }

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap_or(Value::Null)
    }

    pub async fn call_with_token(
        &self,
        method: &str,
        uri: &str,
        token: &str,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let (status, body) = self.send(request).await;
        (status, Self::json_of(&body))
    }

    pub async fn call_without_token(&self, method: &str, uri: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let (status, body) = self.send(request).await;
        (status, Self::json_of(&body))
    }

    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        match body {
            Some(body) => {
                self.call_raw(
                    method,
                    uri,
                    "application/json",
                    body.to_string().into_bytes(),
                )
                .await
            }
            None => self.call_with_token(method, uri, TOKEN).await,
        }
    }

    pub async fn call_raw(
        &self,
        method: &str,
        uri: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let (status, body) = self.send(request).await;
        (status, Self::json_of(&body))
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call("GET", uri, None).await
    }

    pub async fn get_bytes(&self, uri: &str) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .uri(uri)
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    pub async fn upload(
        &self,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> (StatusCode, Value) {
        let (boundary, body) = multipart(name, content_type, bytes);
        self.call_raw(
            "POST",
            "/api/files",
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        )
        .await
    }

    /// The result once it is finished, by its own state (every 20 ms, for at most 30 s).
    pub async fn wait_until_finished(&self, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, result) = self.get(&format!("/api/etl/results/{id}")).await;
            if matches!(
                result["status"].as_str(),
                Some("COMPLETED" | "FAILED" | "CANCELLED")
            ) {
                return result;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still running: {result}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A multipart form with one `file` part.
pub fn multipart(name: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "collectors-test-boundary-7d1f".to_owned();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, body)
}

/// Per row of the CSV, in order: the sensor and the mean of its last `window` values (an
/// independent computation of `rolling_mean` with `key = sensor_id`).
pub fn rolling_means(csv: &[u8], window: usize) -> Vec<(String, f64)> {
    let mut history: HashMap<String, Vec<f64>> = HashMap::new();
    good_rows(csv)
        .into_iter()
        .map(|(sensor, value)| {
            let values = history.entry(sensor.clone()).or_default();
            values.push(value);
            let tail = &values[values.len().saturating_sub(window)..];
            (sensor, tail.iter().sum::<f64>() / tail.len() as f64)
        })
        .collect()
}

/// The CSV lines the decoder accepts with the example's schema, as `(sensor_id, value)`:
/// valid UTF-8, four fields, a timestamp and a number. (The sample file holds a few corrupt
/// lines on purpose: they are dead-lettered.)
pub fn good_rows(csv: &[u8]) -> Vec<(String, f64)> {
    csv.split(|b| *b == b'\n')
        .skip(1)
        .filter_map(|line| std::str::from_utf8(line).ok())
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != 4 || chrono::DateTime::parse_from_rfc3339(fields[0]).is_err() {
                return None;
            }
            let value: f64 = fields[2].parse().ok()?;
            Some((fields[1].to_owned(), value))
        })
        .collect()
}

/// The decoder options of the example's sensor files (`[source.csv]` of its pipeline).
pub fn sensor_schema() -> Value {
    serde_json::json!({"has_header": true, "schema": [
        {"name": "ts", "type": "timestamp"}, {"name": "sensor_id", "type": "utf8"},
        {"name": "value", "type": "float64"}, {"name": "status", "type": "utf8"},
    ]})
}

/// `(sensor_id, value_rolling_mean)` of each row of a CSV export.
pub fn rolling_means_of_csv_export(csv: &[u8]) -> Vec<(String, f64)> {
    let text = std::str::from_utf8(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let sensor = header.iter().position(|h| *h == "sensor_id").unwrap();
    let mean = header
        .iter()
        .position(|h| *h == "value_rolling_mean")
        .unwrap();
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields[sensor].to_owned(), fields[mean].parse().unwrap())
        })
        .collect()
}

/// The peaks of each sensor's series with only a minimum height, as SciPy's `find_peaks`
/// gives them on data without plateaus: `(sensor, index in its series, value)`.
pub fn peaks(csv: &[u8], height: f64) -> Vec<(String, u64, f64)> {
    let mut series: Vec<(String, Vec<f64>)> = Vec::new();
    for (sensor, value) in good_rows(csv) {
        match series.iter_mut().find(|(s, _)| *s == sensor) {
            Some((_, values)) => values.push(value),
            None => series.push((sensor, vec![value])),
        }
    }
    let mut out = Vec::new();
    for (sensor, values) in series {
        for i in 1..values.len().saturating_sub(1) {
            if values[i - 1] < values[i] && values[i] > values[i + 1] && values[i] >= height {
                out.push((sensor.clone(), i as u64, values[i]));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out
}
