//! Capacity and cost at internet scale, planned from figures measured on this code:
//!
//! - `inputs`: the one file the model reads (`tools/capacity/inputs.json`): prices with the date they
//!   were read, the order mix, and what `make bench` measured;
//! - `deployed`: the stream's settings as template.yaml deploys them (batch size, window,
//!   parallelization, memory, log sampling, alarms, schedules);
//! - `model`: per tier, the month's invocations, GB-seconds, read and write units, logs,
//!   traces and dollars, and the limits that bind first. Pure arithmetic;
//! - `simulate`: the stream function at many containers, each holding the real warm cache,
//!   fed Zipf-popular orders with bursts and drawn DynamoDB latencies;
//! - `plot`: the SVG charts of docs/capacity.md (also the bench's).

pub mod deployed;
pub mod inputs;
pub mod model;
pub mod plot;
pub mod simulate;
