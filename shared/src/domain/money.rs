//! Money as integer minor units (cents). Never a float: totals must add up exactly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in the order's currency, in minor units (e.g. cents). May be negative only as
/// an intermediate result; stored amounts are validated by the commands that produce them.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct Money(i64);

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

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn checked_mul(self, quantity: u32) -> Option<Money> {
        self.0.checked_mul(i64::from(quantity)).map(Money)
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
    fn arithmetic_reports_overflow_instead_of_wrapping() {
        assert_eq!(Money::from_minor(i64::MAX).checked_add(Money::from_minor(1)), None);
        assert_eq!(Money::from_minor(i64::MAX).checked_mul(2), None);
        assert_eq!(Money::from_minor(250).checked_mul(4), Some(Money::from_minor(1000)));
    }
}
