//! Who is calling. API Gateway authenticates (AWS_IAM on every route, SigV4) and IAM decides
//! which routes a principal may call (the template's read-only and operator policies); the
//! function still refuses any request that carries no authenticated identity. Deny by default.

use crate::error::ApiError;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

/// The authenticated caller, as the auth layer established it (a request extension).
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// The identity `make run`'s local server gives every request (there is no API Gateway
/// locally). Never present in Lambda.
#[derive(Clone, Debug)]
pub struct LocalCaller(pub String);

pub fn caller(parts: &Parts) -> Result<String, ApiError> {
    if let Some(LocalCaller(id)) = parts.extensions.get::<LocalCaller>() {
        return Ok(id.clone());
    }
    let Some(RequestContext::ApiGatewayV1(context)) = parts.extensions.get::<RequestContext>() else {
        return Err(ApiError::Unauthenticated);
    };
    // AWS_IAM: API Gateway verified the SigV4 signature and put the principal here.
    match context.identity.user_arn.as_deref().filter(|arn| arn.starts_with("arn:")) {
        Some(arn) => Ok(arn.to_owned()),
        None => Err(ApiError::Unauthenticated),
    }
}
