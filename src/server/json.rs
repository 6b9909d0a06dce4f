//! Request extractors that answer a client's mistakes with the contract's JSON error.

use crate::error::AppError;
use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Request},
    http::{request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;

/// `axum::Json`, but a malformed or mistyped body is a 400 `invalid_input` (413 when too large).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge;
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            AppError::invalid("Send the body as JSON with Content-Type: application/json.")
        }
        JsonRejection::JsonSyntaxError(_) => AppError::invalid("The body is not valid JSON."),
        JsonRejection::JsonDataError(error) => {
            // serde's message names the field and the expected type, never server internals.
            AppError::invalid(format!("The body does not fit: {}", error.body_text_detail()))
        }
        _ => AppError::invalid("The body could not be read."),
    }
}

trait BodyTextDetail {
    fn body_text_detail(&self) -> String;
}

impl BodyTextDetail for axum::extract::rejection::JsonDataError {
    fn body_text_detail(&self) -> String {
        let text = self.body_text();
        // "Failed to deserialize the JSON body into the target type: quantity: invalid type…"
        let detail = text.split_once(": ").map(|(_, rest)| rest.to_string()).unwrap_or(text);
        without_type_names(&detail)
    }
}

/// serde says "expected struct AddItem" of a body that is not an object: the name is ours, not
/// the client's business. It becomes "expected a JSON object".
fn without_type_names(detail: &str) -> String {
    let mut out = String::with_capacity(detail.len());
    let mut rest = detail;
    while let Some(at) = rest.find("struct ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "struct ".len()..];
        let name_len = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        out.push_str("a JSON object");
        rest = &after[name_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn type_names_are_not_shown() {
        assert_eq!(
            super::without_type_names(
                r#"invalid type: string "x", expected struct AddItem at line 1 column 3"#
            ),
            r#"invalid type: string "x", expected a JSON object at line 1 column 3"#
        );
        assert_eq!(super::without_type_names("missing field `quantity`"), "missing field `quantity`");
    }
}

/// A path parameter that must be a positive whole number (an id).
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::invalid("The id in the path is not valid."))?;
        match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(IdPath(id)),
            _ => Err(AppError::invalid("The id in the path must be a positive whole number.")),
        }
    }
}
