//! The maintenance function's integration tests: one binary, one local DynamoDB server.

mod deployed;
mod events;
mod maintenance;
