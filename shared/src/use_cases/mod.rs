//! What the functions do, over the store's repository: snapshot a
//! stream batch (`stream_snapshots`), the operator's requests (`admin`), compare a snapshot
//! with a full replay (`verify`), and the maintenance run (`maintenance`: retention cleanup,
//! the drift canary, rebuild jobs).

pub mod admin;
pub mod clock;
pub mod maintenance;
pub mod stream_snapshots;
pub mod verify;
