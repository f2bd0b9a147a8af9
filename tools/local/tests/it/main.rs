//! End-to-end, model-based, fault, throttling and concurrency tests of the local stack: one
//! binary, one local DynamoDB server (tests that kill or slow a server start their own).

mod concurrency;
mod e2e;
mod emulator;
mod error_paths;
mod event_source;
mod faults;
mod foreign_writer;
mod jobs_deployed;
mod local_stack;
mod maintenance_safety;
mod model;
mod openapi_contract;
mod preflight;
mod rebuild;
mod throttling;
