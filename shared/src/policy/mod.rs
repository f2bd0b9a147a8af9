//! What the operator sets, and the pure rules that read it: when to snapshot (strategy) and
//! which snapshots retention deletes.

pub mod retention;
pub mod settings;
pub mod strategy;
