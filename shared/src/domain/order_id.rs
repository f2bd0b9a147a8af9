//! Order ids come from callers (API paths, stream records): an allow-list keeps them safe to
//! log, to put in keys and to echo back.

use thiserror::Error;

pub const MAX_ORDER_ID_LEN: usize = 64;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid order id: {reason}")]
pub struct InvalidOrderId {
    pub reason: &'static str,
}

/// 1-64 characters of `A-Z a-z 0-9 - _`, starting with a letter or digit.
pub fn validate_order_id(id: &str) -> Result<(), InvalidOrderId> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        for id in ["o-1", "ORD_2026_000123", "7f3c2a9e-1b2c-4d5e-8f90-1234567890ab", &"a".repeat(64)] {
            assert_eq!(validate_order_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn refuses_path_tricks_and_oversized_ids() {
        for id in ["", "../etc", "a/b", "a%2Fb", "-lead", "a b", "é", "a\0", &"a".repeat(65)] {
            assert!(validate_order_id(id).is_err(), "{id:?}");
        }
    }
}
