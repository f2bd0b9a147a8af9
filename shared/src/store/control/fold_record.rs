//! The fold fingerprint the maintenance function last saw, and whether the renewal of the
//! snapshots made by the fold before it is still to start: one control item, changed only by
//! conditional updates, so of many containers seeing a new fingerprint one records it.

use super::ControlStore;
use crate::store::StoreError;
use crate::store::dynamo::s;
use crate::store::expression::Update;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;

/// The control item's id.
pub const FOLD_RECORD_ID: &str = "_fold-fingerprint";

/// What the item holds.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FoldRecord {
    pub fingerprint: String,
    /// A renewal job is still to start for this fingerprint.
    #[serde(default)]
    pub pending: bool,
}

#[derive(Clone, Debug)]
pub struct FoldRecords {
    control: ControlStore,
}

impl FoldRecords {
    pub fn new(control: ControlStore) -> Self {
        FoldRecords { control }
    }

    /// The recorded fingerprint, if any.
    pub async fn recorded(&self) -> Result<Option<FoldRecord>, StoreError> {
        self.control.get_as(FOLD_RECORD_ID).await
    }

    /// Records `current` with a renewal pending, if the record still holds `seen`; `false`
    /// when another container changed it first.
    pub async fn record_change(&self, seen: Option<&str>, current: &str) -> Result<bool, StoreError> {
        let update = Update::new("SET fingerprint = :current, pending = :yes")
            .value(":current", s(current))
            .value(":yes", AttributeValue::Bool(true));
        let update = match seen {
            Some(seen) => update.when("fingerprint = :seen").value(":seen", s(seen)),
            None => update.when("attribute_not_exists(fingerprint)"),
        };
        Ok(self.control.update(FOLD_RECORD_ID, update).await?.is_some())
    }

    /// The renewal for `current` has started: nothing is pending while the record still holds
    /// `current`.
    pub async fn renewal_started(&self, current: &str) -> Result<(), StoreError> {
        let done = Update::new("SET pending = :no")
            .when("fingerprint = :current")
            .value(":no", AttributeValue::Bool(false))
            .value(":current", s(current));
        self.control.update(FOLD_RECORD_ID, done).await.map(|_| ())
    }
}
