//! Integers in JSON bodies as JSON Schema defines them: `3` and `3.0` are both the integer
//! 3 (serde refuses the second), a fraction or a negative is refused.

use serde::{Deserialize, Deserializer, de::Error};

fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let number = Option::<serde_json::Number>::deserialize(deserializer)?;
    let Some(number) = number else {
        return Ok(None);
    };
    if let Some(n) = number.as_u64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Ok(Some(f as u64)),
        _ => Err(D::Error::custom(format!(
            "expected a non-negative integer, found {number}"
        ))),
    }
}

/// An optional non-negative integer.
pub(crate) fn option_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    integer(d)
}

/// An optional non-negative integer that fits in `u32`.
pub(crate) fn option_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    integer(d)?
        .map(|n| u32::try_from(n).map_err(|_| D::Error::custom(format!("{n} is too large"))))
        .transpose()
}

/// Rewrites every integral float of `value` (`3.0`) as the integer it is (`3`), as JSON
/// Schema reads numbers, so that serde's integer fields take what the schema let through.
/// Subtrees under a key in `verbatim` are left as sent: free-form values (a script's
/// parameters) whose author may mean `2.0` as a float.
pub(crate) fn integral_floats(value: &mut serde_json::Value, verbatim: &[&str]) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let Some(f) = n.as_f64() else { return };
            // Within ±2^53 every integer is exact in an f64.
            if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                *value = if f < 0.0 {
                    Value::from(f as i64)
                } else {
                    Value::from(f as u64)
                };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| integral_floats(v, verbatim)),
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if !verbatim.contains(&key.as_str()) {
                    integral_floats(inner, verbatim);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::option_u32")]
        n: Option<u32>,
    }

    fn n(json: &str) -> Result<Option<u32>, serde_json::Error> {
        serde_json::from_str::<Body>(json).map(|b| b.n)
    }

    #[test]
    fn integral_floats_are_integers_and_fractions_are_not() {
        assert_eq!(n(r#"{"n": 3}"#).unwrap(), Some(3));
        assert_eq!(n(r#"{"n": 3.0}"#).unwrap(), Some(3));
        assert_eq!(n(r#"{}"#).unwrap(), None);
        assert_eq!(n(r#"{"n": null}"#).unwrap(), None);
        assert!(n(r#"{"n": 3.5}"#).is_err());
        assert!(n(r#"{"n": -1}"#).is_err());
        assert!(n(r#"{"n": 5000000000}"#).is_err());
    }

    #[test]
    fn integral_floats_become_integers_but_not_under_verbatim_keys() {
        let mut body = serde_json::json!({
            "engine": {"linger_ms": 200.0, "jitter": 0.5, "offset": -3.0},
            "source": [{"chunk_rows": 1e3}],
            "params": {"scale": 2.0},
        });
        super::integral_floats(&mut body, &["params"]);
        assert_eq!(
            body,
            serde_json::json!({
                "engine": {"linger_ms": 200, "jitter": 0.5, "offset": -3},
                "source": [{"chunk_rows": 1000}],
                "params": {"scale": 2.0},
            })
        );
        assert!(body["engine"]["linger_ms"].is_u64());
        assert!(body["params"]["scale"].is_f64());
    }
}
