//! The shared crate's integration tests: one binary, one local DynamoDB server, a module per
//! behaviour.

mod conformance;
mod conformance_load;
mod contract;
mod event_store;
mod load;
mod parsers;
mod properties;
mod repository;
mod snapshot_store;
