//! The admin API: an axum router served by lambda_http behind API Gateway, and by `make run`
//! on localhost. `routes.rs` is the one route table; `extract.rs` checks what a caller sends;
//! `handlers.rs` adapts HTTP to the use cases in `shared::use_cases`; `access.rs` is the one
//! middleware (who may call, the audit record); `error.rs` is the one place errors become HTTP.

pub mod access;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod job_starter;
pub mod limits;
pub mod paths;
pub mod routes;
pub mod state;

pub use routes::router;
pub use state::AppState;
