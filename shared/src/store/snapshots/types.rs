//! A snapshot's shapes: what a writer decides ([`NewSnapshot`]), the stored metadata map, a
//! stored snapshot that passed every check, one without its state, and why a stored one
//! cannot be used.

use crate::domain::Order;
use crate::policy::settings::StrategyKind;
use crate::policy::strategy::Rule;
use crate::store::dynamo::{AttributeError, MAX_ITEM_BYTES};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateEncoding {
    /// `state` holds the JSON bytes as they are.
    Json,
    /// `state` holds the JSON bytes deflated (RFC 1951).
    JsonDeflate,
}

/// The `metadata` map: one schema, a DynamoDB map (never a JSON string).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotMetadata {
    /// `stream` for automatic snapshots, `admin:<caller>` for manual ones.
    pub created_by: String,
    /// Why it was taken, in words.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    pub state_schema_version: u32,
    /// The fingerprint of the fold that made the state (`domain::fingerprint`); a snapshot
    /// made by another fold is unusable. Absent on snapshots from before fingerprints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold_fingerprint: Option<String>,
    /// The build of the code that wrote it, to find a bad release's snapshots in bulk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_build: Option<String>,
    pub state_encoding: StateEncoding,
    /// Length of the uncompressed JSON.
    pub state_bytes: u64,
    /// `sha256:<hex>` of the uncompressed JSON.
    pub checksum: String,
}

/// What the caller decides about a new snapshot; the codec derives the rest.
#[derive(Clone, Debug)]
pub struct NewSnapshot {
    pub state: Order,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub created_by: String,
    pub reason: String,
    pub strategy: Option<StrategyKind>,
    pub rule: Option<Rule>,
}

/// A stored snapshot that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub order_id: String,
    pub version: u64,
    pub last_event_sequence: u64,
    pub timestamp: i64,
    pub state: Order,
    pub metadata: SnapshotMetadata,
}

/// A snapshot without its state: what listings and retention need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotSummary {
    pub order_id: String,
    pub version: u64,
    pub last_event_sequence: u64,
    pub timestamp: i64,
    pub metadata: SnapshotMetadata,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SnapshotEncodeError {
    #[error(
        "snapshot of order {order_id} is {bytes} bytes even compressed; a DynamoDB item holds at most {MAX_ITEM_BYTES}"
    )]
    TooLarge { order_id: String, bytes: usize },
    #[error("cannot snapshot the empty order {0}")]
    EmptyOrder(String),
}

/// Why a stored snapshot cannot be used. The load then falls back to replay.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Unusable {
    #[error("malformed item: {0}")]
    Malformed(#[from] AttributeError),
    #[error("malformed metadata: {0}")]
    BadMetadata(String),
    #[error("state schema version {found}; this code reads {supported}")]
    StateSchema { found: u32, supported: u32 },
    #[error("made by a fold with fingerprint {found:?}; this code's is {current}")]
    FoldChanged { found: Option<String>, current: String },
    #[error("state cannot be decoded: {0}")]
    Undecodable(String),
    #[error("checksum mismatch: stored {stored}, computed {computed}")]
    ChecksumMismatch { stored: String, computed: String },
    #[error("inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl Unusable {
    /// The reason's stable code, the same in every reader of the contract
    /// (`conformance/README.md`); the message is for people.
    pub fn code(&self) -> &'static str {
        match self {
            Unusable::Malformed(_) => "malformed_item",
            Unusable::BadMetadata(_) => "malformed_metadata",
            Unusable::StateSchema { .. } => "unknown_state_schema",
            Unusable::FoldChanged { .. } => "fold_changed",
            Unusable::Undecodable(_) => "undecodable_state",
            Unusable::ChecksumMismatch { .. } => "checksum_mismatch",
            Unusable::Inconsistent(_) => "inconsistent_keys",
        }
    }
}

/// Why a snapshot that passed every check of its own is still not used: the stored event at its
/// `lastEventSequence` no longer has the id its state was folded from (repaired in place since).
pub const ANCHOR_MISMATCH: &str = "anchor_mismatch";
