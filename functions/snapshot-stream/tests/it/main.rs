//! The stream function's integration tests: one binary, one local DynamoDB server.

mod bad_input;
mod events;
mod stream;
