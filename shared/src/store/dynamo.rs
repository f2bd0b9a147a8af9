//! What every store shares: SDK error wrapping, item attribute access and read-cost
//! accounting (the local server reports capacity as a constant, so we compute it).

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use thiserror::Error;

pub type Item = HashMap<String, AttributeValue>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// DynamoDB's hard limit on one item.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
const READ_UNIT_BYTES: u64 = 4 * 1024;

/// A request to DynamoDB failed for a reason other than a condition we asked for.
#[derive(Debug, Error)]
#[error("DynamoDB {operation} on {table} failed ({code})")]
pub struct DynamoError {
    pub operation: &'static str,
    pub table: String,
    /// The service's error code, or the kind of transport failure.
    pub code: String,
    /// Worth retrying: throttling, timeouts, a server that could not be reached.
    pub transient: bool,
    #[source]
    source: BoxError,
}

impl DynamoError {
    pub fn new<E>(operation: &'static str, table: &str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (code, transient) = match &err {
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or("Unknown").to_owned();
                // A 5xx without a known code (a load balancer's bare 503) is the service's
                // trouble too; the SDK retried it as such.
                let status = service.raw().status();
                let transient = status.is_server_error()
                    || status.as_u16() == 429
                    || matches!(
                        code.as_str(),
                        "ProvisionedThroughputExceededException"
                            | "ThrottlingException"
                            | "RequestLimitExceeded"
                            | "InternalServerError"
                            | "ServiceUnavailable"
                            | "TransactionConflictException"
                    );
                (code, transient)
            }
            SdkError::TimeoutError(_) => ("Timeout".to_owned(), true),
            SdkError::DispatchFailure(_) => ("DispatchFailure".to_owned(), true),
            SdkError::ResponseError(_) => ("ResponseError".to_owned(), true),
            _ => ("ConstructionFailure".to_owned(), false),
        };
        DynamoError { operation, table: table.to_owned(), code, transient, source: Box::new(err) }
    }
}

impl DynamoError {
    /// The table did not become ACTIVE in time after its creation.
    pub fn not_active(table: &str, waited: std::time::Duration) -> Self {
        DynamoError {
            operation: "DescribeTable",
            table: table.to_owned(),
            code: "TableNotActive".into(),
            transient: true,
            source: format!("table {table} not ACTIVE after {waited:?}").into(),
        }
    }

    /// The table answered that it is busy: it is reachable, and more load will not help.
    pub fn is_throttling(&self) -> bool {
        self.code.as_str() == "429"
            || matches!(
                self.code.as_str(),
                "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded"
            )
    }
}

/// A conditional write's result: `Some` with the answer when it was applied, `None` when its
/// condition did not hold (DynamoDB's `ConditionalCheckFailedException`: nothing changed), any
/// other failure a [`DynamoError`]. Every store's conditional writes read their answers here.
pub fn condition_held<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    operation: &'static str,
    table: &str,
) -> Result<Option<T>, DynamoError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(answer) => Ok(Some(answer)),
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code)
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(DynamoError::new(operation, table, e)),
    }
}

/// Whether `error`, or any error behind it, is a transient DynamoDB failure (throttling,
/// timeout, unreachable): the caller may retry the same request.
pub fn is_transient(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(dynamo) = e.downcast_ref::<DynamoError>() {
            return dynamo.transient;
        }
        next = e.source();
    }
    false
}

/// What a read cost, as DynamoDB would bill it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReadCost {
    pub round_trips: u32,
    pub items: u64,
    pub bytes: u64,
    /// Read capacity units: per request, item bytes rounded up to 4 KB (halved when
    /// eventually consistent).
    pub read_units: f64,
}

impl ReadCost {
    /// Accounts one Query page.
    pub fn page(&mut self, items: &[Item], consistent: bool) {
        let bytes: u64 = items.iter().map(|i| item_size(i) as u64).sum();
        let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
        self.round_trips += 1;
        self.items += items.len() as u64;
        self.bytes += bytes;
        self.read_units += if consistent { units } else { units / 2.0 };
    }
}

/// An item's size by DynamoDB's rules: attribute names plus values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, x)| 1 + k.len() + value_size(x)).sum::<usize>(),
        _ => 0,
    }
}

fn number_size(n: &str) -> usize {
    let digits = n.chars().filter(char::is_ascii_digit).count();
    digits.div_ceil(2) + 1
}

/// A missing or mistyped attribute: decoding never fills in a default.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AttributeError {
    #[error("attribute {0} is missing")]
    Missing(&'static str),
    #[error("attribute {name} is not of type {expected}")]
    WrongType { name: &'static str, expected: &'static str },
    #[error("attribute {name} is not a valid number: {value:?}")]
    BadNumber { name: &'static str, value: String },
}

pub fn get<'a>(item: &'a Item, name: &'static str) -> Result<&'a AttributeValue, AttributeError> {
    item.get(name).ok_or(AttributeError::Missing(name))
}

pub fn get_s<'a>(item: &'a Item, name: &'static str) -> Result<&'a str, AttributeError> {
    get(item, name)?.as_s().map(String::as_str).map_err(|_| AttributeError::WrongType { name, expected: "S" })
}

pub fn get_n<T: std::str::FromStr>(item: &Item, name: &'static str) -> Result<T, AttributeError> {
    let n = get(item, name)?.as_n().map_err(|_| AttributeError::WrongType { name, expected: "N" })?;
    n.parse().map_err(|_| AttributeError::BadNumber { name, value: n.clone() })
}

pub fn get_b<'a>(item: &'a Item, name: &'static str) -> Result<&'a [u8], AttributeError> {
    get(item, name)?.as_b().map(|b| b.as_ref()).map_err(|_| AttributeError::WrongType { name, expected: "B" })
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_size_follows_dynamodb_rules() {
        let item: Item = [
            ("orderId".to_string(), s("o-1")),              // 7 + 3
            ("sequence".to_string(), n(12345)),             // 8 + (5 digits -> 3 + 1)
            ("ok".to_string(), AttributeValue::Bool(true)), // 2 + 1
        ]
        .into();
        assert_eq!(item_size(&item), 10 + 12 + 3);
    }

    #[test]
    fn read_units_round_up_per_page_and_halve_when_eventually_consistent() {
        let item: Item = [("a".to_string(), s("x".repeat(5000)))].into();
        let mut cost = ReadCost::default();
        cost.page(std::slice::from_ref(&item), true);
        assert_eq!(cost.read_units, 2.0);
        cost.page(&[item], false);
        assert_eq!(cost.read_units, 3.0);
        assert_eq!(cost.round_trips, 2);
        assert_eq!(cost.items, 2);
        cost.page(&[], true);
        assert_eq!(cost.read_units, 4.0, "an empty page still costs a unit");
    }

    #[test]
    fn attribute_access_never_defaults() {
        let item: Item = [("n".to_string(), s("12")), ("m".to_string(), n("x1"))].into();
        assert_eq!(get_s(&item, "gone"), Err(AttributeError::Missing("gone")));
        assert_eq!(get_n::<u64>(&item, "n"), Err(AttributeError::WrongType { name: "n", expected: "N" }));
        assert!(matches!(get_n::<u64>(&item, "m"), Err(AttributeError::BadNumber { .. })));
    }
}
