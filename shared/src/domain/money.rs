//! Money as integer minor units (cents). Never a float: totals must add up exactly. Every
//! amount stays within ±(2^53 − 1), the integers every JSON reader holds exactly (JavaScript's
//! `Number.MAX_SAFE_INTEGER`): a payload beyond it is refused when read, and arithmetic that
//! would leave it overflows, so no state holds a number another language would round.

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// 2^53 − 1: the largest integer every JSON reader holds exactly (JavaScript's
/// `Number.MAX_SAFE_INTEGER`). Amounts, sequences and times are all bounded by it.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The largest amount, in minor units.
pub const MAX_AMOUNT: i64 = MAX_SAFE_INTEGER;

/// Marks the refusal of an amount beyond ±[`MAX_AMOUNT`] in a decode error's message.
pub const AMOUNT_OUT_OF_RANGE: &str = "amount out of range";

/// An amount in the order's currency, in minor units (e.g. cents), within ±(2^53 − 1). May be
/// negative only as an intermediate result; stored amounts are validated by the commands that
/// produce them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Money(#[schemars(range(min = -9_007_199_254_740_991i64, max = 9_007_199_254_740_991i64))] i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    /// Whole currency units, for two-decimal currencies (the high-value rule's `total > 1000`).
    pub const fn from_major(major: i64) -> Self {
        Money(major * 100)
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    /// `None` past ±[`MAX_AMOUNT`].
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).and_then(Money::within_range)
    }

    /// `None` past ±[`MAX_AMOUNT`].
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).and_then(Money::within_range)
    }

    /// `None` past ±[`MAX_AMOUNT`].
    pub fn checked_mul(self, quantity: u32) -> Option<Money> {
        self.0.checked_mul(i64::from(quantity)).and_then(Money::within_range)
    }

    fn within_range(minor: i64) -> Option<Money> {
        (-MAX_AMOUNT..=MAX_AMOUNT).contains(&minor).then_some(Money(minor))
    }
}

/// Whole numbers within ±[`MAX_AMOUNT`]; anything larger is refused with
/// [`AMOUNT_OUT_OF_RANGE`] in the message, a fraction or a string as any mistyped field is.
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Minor;

        impl Visitor<'_> for Minor {
            type Value = Money;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number of minor units within ±{MAX_AMOUNT}")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Money::within_range(v).ok_or_else(|| E::custom(format!("{AMOUNT_OUT_OF_RANGE}: {v}")))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(Money::within_range)
                    .ok_or_else(|| E::custom(format!("{AMOUNT_OUT_OF_RANGE}: {v}")))
            }

            // A JSON integer too large for 64 bits arrives as a float.
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                if v.fract() == 0.0 && v.abs() > MAX_AMOUNT as f64 {
                    return Err(E::custom(format!("{AMOUNT_OUT_OF_RANGE}: {v}")));
                }
                Err(E::invalid_type(de::Unexpected::Float(v), &self))
            }
        }

        deserializer.deserialize_any(Minor)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_minor_units_exactly() {
        assert_eq!(Money::from_minor(123_456).to_string(), "1234.56");
        assert_eq!(Money::from_minor(-5).to_string(), "-0.05");
        assert_eq!(Money::from_major(1000), Money::from_minor(100_000));
    }

    #[test]
    fn arithmetic_reports_overflow_past_the_safe_integers_instead_of_wrapping() {
        let max = Money::from_minor(MAX_AMOUNT);
        assert_eq!(max.checked_add(Money::from_minor(1)), None);
        assert_eq!(Money::from_minor(-MAX_AMOUNT).checked_sub(Money::from_minor(1)), None);
        assert_eq!(max.checked_add(Money::ZERO), Some(max));
        assert_eq!(Money::from_minor(i64::MAX).checked_mul(2), None);
        assert_eq!(Money::from_minor(MAX_AMOUNT / 2 + 1).checked_mul(2), None);
        assert_eq!(Money::from_minor(250).checked_mul(4), Some(Money::from_minor(1000)));
    }

    #[test]
    fn amounts_read_only_as_whole_numbers_within_the_safe_integers() {
        let read = |json: &str| serde_json::from_str::<Money>(json).map_err(|e| e.to_string());
        assert_eq!(read("9007199254740991"), Ok(Money::from_minor(MAX_AMOUNT)));
        assert_eq!(read("-9007199254740991"), Ok(Money::from_minor(-MAX_AMOUNT)));
        for beyond in
            ["9007199254740992", "-9007199254740992", "4611686018427387903", "100000000000000000000"]
        {
            assert!(read(beyond).is_err_and(|e| e.contains(AMOUNT_OUT_OF_RANGE)), "{beyond}");
        }
        for mistyped in ["5.5", "\"5\"", "null"] {
            assert!(read(mistyped).is_err_and(|e| !e.contains(AMOUNT_OUT_OF_RANGE)), "{mistyped}");
        }
    }
}
