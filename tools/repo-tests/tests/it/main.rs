//! The repository-wide tests: one binary, a module per rule the whole repository keeps.

mod architecture;
mod deploy_rehearsal;
mod docs;
mod template;
