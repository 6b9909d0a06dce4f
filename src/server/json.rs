//! Request extractors that answer a client's mistakes with the contract's JSON error.

use crate::error::AppError;
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{header::CONTENT_TYPE, request::Parts, HeaderMap, StatusCode},
};
use serde::de::DeserializeOwned;

/// `axum::Json`, but stricter, and a client's mistake is a 400 `invalid_input` (413 when too
/// large) whose message names the field and never echoes more of the body than that field.
///
/// serde reads a JSON array as a struct, field by field (`[1, 2]` as
/// `{"product_id": 1, "quantity": 2}`). No body of this API is an array or holds one of
/// anything but objects, so a body must be an object and every array in it must hold objects:
/// anything else is refused before it is read.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(AppError::invalid("Send the body as JSON with Content-Type: application/json."));
        }
        let read = tokio::time::timeout(super::sizes::BODY_READ_TIMEOUT, Bytes::from_request(req, state));
        let bytes = read.await.map_err(|_| AppError::RequestTimeout)?.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::invalid("The body could not be read.")
            }
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| AppError::invalid("The body is not valid JSON."))?;
        if !value.is_object() {
            return Err(AppError::invalid("The body must be a JSON object."));
        }
        if let Some(path) = array_of_non_objects(&value, String::new()) {
            return Err(AppError::invalid(format!("The body does not fit: {path} must hold objects.")));
        }
        // From the bytes again, not from the value: a field given twice is an error here, where
        // the value kept only the last.
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut deserializer).map(Json).map_err(|error| {
            let path = error.path().to_string();
            let detail = plain_words(&error.into_inner().to_string());
            if path.is_empty() || path == "." {
                AppError::invalid(format!("The body does not fit: {detail}"))
            } else {
                AppError::invalid(format!("The body does not fit: {path}: {detail}"))
            }
        })
    }
}

/// `application/json`, or any `application/…+json`, parameters aside.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The path of the first array in `value` that holds something other than objects.
fn array_of_non_objects(value: &serde_json::Value, path: String) -> Option<String> {
    match value {
        serde_json::Value::Array(items) => {
            if items.iter().any(|item| !item.is_object()) {
                return Some(if path.is_empty() { "the body".to_string() } else { path });
            }
            items.iter().enumerate().find_map(|(i, item)| array_of_non_objects(item, format!("{path}[{i}]")))
        }
        serde_json::Value::Object(fields) => fields.iter().find_map(|(name, item)| {
            let path = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            array_of_non_objects(item, path)
        }),
        _ => None,
    }
}

/// serde's words for our types ("expected i64", "expected struct AddItem") in words for people.
fn plain_words(detail: &str) -> String {
    let mut out = without_type_names(detail);
    for (rust, plain) in [
        ("expected i64", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a JSON array"),
        ("expected a borrowed string", "expected a string"),
    ] {
        out = out.replace(rust, plain);
    }
    out
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn type_names_are_not_shown() {
        assert_eq!(
            super::without_type_names(
                r#"invalid type: string "x", expected struct AddItem at line 1 column 3"#
            ),
            r#"invalid type: string "x", expected a JSON object at line 1 column 3"#
        );
        assert_eq!(super::without_type_names("missing field `quantity`"), "missing field `quantity`");
        assert_eq!(
            super::plain_words(r#"invalid type: string "1", expected i64"#),
            r#"invalid type: string "1", expected a whole number"#
        );
    }

    #[test]
    fn arrays_must_hold_objects() {
        let find = |value| super::array_of_non_objects(&value, String::new());
        assert_eq!(find(json!({"lines": [{"product_id": 1}]})), None);
        assert_eq!(find(json!({"lines": [[1, 1]]})).as_deref(), Some("lines"));
        assert_eq!(find(json!({"shipping": ["Mallory", "1 Evil Road"]})).as_deref(), Some("shipping"));
        assert_eq!(find(json!({"a": {"b": [{"c": [2]}]}})).as_deref(), Some("a.b[0].c"));
        assert_eq!(find(json!({"lines": []})), None);
    }
}
