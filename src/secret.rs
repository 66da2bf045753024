//! Credentials in the configuration (the node's `Authorization`, the JWT secret): printed and
//! serialized as `"<redacted>"`, except inside [`exposed`], which the configuration export uses
//! when an admin asks for the secrets explicitly.

use serde::{Deserialize, Serialize};
use std::cell::Cell;

thread_local! {
    static EXPOSED: Cell<bool> = const { Cell::new(false) };
}

/// A credential.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Runs `f` with secrets serialized as they are (on this thread only).
pub fn exposed<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            EXPOSED.with(|e| e.set(self.0));
        }
    }
    let _reset = Reset(EXPOSED.with(|e| e.replace(true)));
    f()
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if EXPOSED.with(Cell::get) {
            s.serialize_str(&self.0)
        } else {
            s.serialize_str("<redacted>")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_unless_exposed() {
        let s = Secret::new("hunter2");
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""<redacted>""#);
        assert_eq!(
            exposed(|| serde_json::to_string(&s).unwrap()),
            r#""hunter2""#
        );
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""<redacted>""#);
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
