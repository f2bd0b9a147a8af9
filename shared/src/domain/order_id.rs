//! Order ids come from callers (API paths, stream records, job scopes, table scans). An
//! [`OrderId`] can only hold a valid one: it is checked once, where the id enters, and
//! everything behind takes `&OrderId`, safe to log, to put in keys and to echo back.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Deref;
use thiserror::Error;

pub const MAX_ORDER_ID_LEN: usize = 64;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid order id: {reason}")]
pub struct InvalidOrderId {
    pub reason: &'static str,
}

/// 1-64 characters of `A-Z a-z 0-9 - _`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(String);

impl OrderId {
    pub fn parse(id: impl Into<String>) -> Result<OrderId, InvalidOrderId> {
        let id = id.into();
        validate_order_id(&id)?;
        Ok(OrderId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn validate_order_id(id: &str) -> Result<(), InvalidOrderId> {
    let err = |reason| Err(InvalidOrderId { reason });
    if id.is_empty() {
        return err("it is empty");
    }
    if id.len() > MAX_ORDER_ID_LEN {
        return err("it is longer than 64 characters");
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return err("it must start with a letter or digit");
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return err("only letters, digits, '-' and '_' are allowed");
    }
    Ok(())
}

impl TryFrom<String> for OrderId {
    type Error = InvalidOrderId;

    fn try_from(id: String) -> Result<Self, InvalidOrderId> {
        OrderId::parse(id)
    }
}

impl From<OrderId> for String {
    fn from(id: OrderId) -> String {
        id.0
    }
}

impl From<&OrderId> for String {
    fn from(id: &OrderId) -> String {
        id.0.clone()
    }
}

/// Read as the `str` it holds (an id is text to every log line, key and message).
impl Deref for OrderId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for OrderId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for OrderId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for OrderId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        for id in ["o-1", "ORD_2026_000123", "7f3c2a9e-1b2c-4d5e-8f90-1234567890ab", &"a".repeat(64)] {
            assert_eq!(OrderId::parse(id).map(String::from).as_deref(), Ok(id), "{id}");
        }
    }

    #[test]
    fn refuses_path_tricks_and_oversized_ids() {
        for id in ["", "../etc", "a/b", "a%2Fb", "-lead", "a b", "é", "a\0", &"a".repeat(65)] {
            assert!(OrderId::parse(id).is_err(), "{id:?}");
        }
    }

    #[test]
    fn reads_and_writes_as_a_plain_string_and_refuses_an_invalid_one() {
        let id: OrderId = serde_json::from_str(r#""o-1""#).unwrap();
        assert_eq!(id, "o-1");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""o-1""#);
        let refused = serde_json::from_str::<OrderId>(r#""../x""#).unwrap_err();
        assert!(refused.to_string().contains("invalid order id"), "{refused}");
    }
}
