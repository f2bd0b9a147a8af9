//! The maintenance function's integration tests: one binary, one local DynamoDB server.

mod events;
mod maintenance;
