//! The admin function's integration tests: one binary, one local DynamoDB server.

mod admin;
mod events;
mod fuzz;
mod jobs;
mod spec_agreement;
