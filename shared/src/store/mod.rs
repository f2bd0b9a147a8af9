//! The storage layer: the event table, the snapshot table and its control items, the key
//! schemas of both tables, and one error taxonomy ([`StoreError`]) every use case maps once.

pub mod control;
pub mod dynamo;
mod error;
pub mod events;
pub mod expression;
pub mod repository;
pub mod snapshots;
pub mod tables;
pub mod unreadable;

pub use error::StoreError;
