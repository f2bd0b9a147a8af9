//! The admin API: an axum router served by lambda_http behind API Gateway, and by `make run`
//! on localhost. `routes.rs` is the one route table; `handlers.rs` adapts HTTP to the use cases
//! in `shared::use_cases`; `error.rs` is the one place errors become HTTP.

pub mod audit;
pub mod auth;
pub mod error;
pub mod handlers;
pub mod input;
pub mod job_starter;
pub mod limits;
pub mod paths;
pub mod routes;
pub mod state;

pub use routes::router;
pub use state::AppState;
