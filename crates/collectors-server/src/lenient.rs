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
}
