//! Who is calling. API Gateway authenticates (AWS_IAM on every route); the function still
//! refuses any request that carries no authenticated identity, and, behind a Cognito/JWT
//! authorizer, callers outside the admin group. Deny by default.

use crate::error::ApiError;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;
use serde_json::Value;

/// The authenticated caller, as the auth layer established it (a request extension).
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// The identity `make run`'s local server gives every request (there is no API Gateway
/// locally). Never present in Lambda.
#[derive(Clone, Debug)]
pub struct LocalCaller(pub String);

#[derive(Clone, Debug)]
pub struct AuthPolicy {
    /// Cognito group whose members are admins (`ADMIN_GROUP`, default `admins`).
    pub admin_group: String,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        AuthPolicy { admin_group: "admins".into() }
    }
}

pub fn caller(parts: &Parts, policy: &AuthPolicy) -> Result<String, ApiError> {
    if let Some(LocalCaller(id)) = parts.extensions.get::<LocalCaller>() {
        return Ok(id.clone());
    }
    let Some(RequestContext::ApiGatewayV1(context)) = parts.extensions.get::<RequestContext>() else {
        return Err(ApiError::Unauthenticated);
    };
    // A Cognito user pool / JWT authorizer: the admin group decides.
    if let Some(claims) = context.authorizer.fields.get("claims").filter(|c| c.is_object()) {
        let in_group = groups(claims).iter().any(|g| g == &policy.admin_group);
        let subject = claims.get("cognito:username").or_else(|| claims.get("sub")).and_then(Value::as_str);
        return match (in_group, subject) {
            (true, Some(subject)) if !subject.is_empty() => Ok(format!("cognito:{subject}")),
            (false, Some(_)) => Err(ApiError::NotAdmin),
            _ => Err(ApiError::Unauthenticated),
        };
    }
    // AWS_IAM: API Gateway verified the SigV4 signature and put the principal here.
    match context.identity.user_arn.as_deref().filter(|arn| arn.starts_with("arn:")) {
        Some(arn) => Ok(arn.to_owned()),
        None => Err(ApiError::Unauthenticated),
    }
}

/// `cognito:groups` arrives as a list or, through REST API authorizers, as a
/// comma/space-separated string.
fn groups(claims: &Value) -> Vec<String> {
    match claims.get("cognito:groups") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(s)) => s
            .trim_matches(|c| c == '[' || c == ']')
            .split([',', ' '])
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}
