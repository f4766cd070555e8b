//! Redaction of text that came from a server or the network before it is shown or logged: a
//! token service that echoes the request body must not put the client secret into an error.

use std::sync::LazyLock;

use regex::Regex;

use crate::settings::REDACTED;

/// `client_secret=…` (form or JSON-ish), up to a separator.
static SECRET_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(client_secret|password|access_token|refresh_token)("?\s*[=:]\s*"?)[^&\s",}]*"#,
    )
    .expect("valid regex")
});
/// `Bearer <token>`.
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+").expect("valid regex"));
/// Form data: two or more `key=value` pairs joined by `&`.
static FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9_.%-]+=[^&\s]*(?:&[A-Za-z0-9_.%-]+=[^&\s]*)+").expect("valid regex")
});
/// A JWT (three base64url parts, the first starting like a JSON header).
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?").expect("valid regex")
});

/// `text` with the secret (raw and form-encoded), secret fields, bearer tokens, JWTs and
/// anything that looks like form data replaced by `***`.
pub fn redact(text: &str, secret: &str) -> String {
    let mut out = text.to_string();
    if !secret.is_empty() {
        for form in [
            secret.to_string(),
            form_encode(secret),
            secret.replace(' ', "%20"),
        ] {
            out = out.replace(&form, REDACTED);
        }
    }
    let out = SECRET_FIELD.replace_all(&out, format!("${{1}}${{2}}{REDACTED}"));
    let out = BEARER.replace_all(&out, format!("Bearer {REDACTED}"));
    let out = JWT.replace_all(&out, REDACTED);
    let out = FORM.replace_all(&out, format!("{REDACTED} (form data)"));
    out.into_owned()
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Zx9-s3cr3t&value+/=%emul";

    #[test]
    fn the_secret_never_survives_in_any_form() {
        let encoded = form_encode(SECRET);
        for text in [
            format!("echo: grant_type=client_credentials&client_id=abc&client_secret={encoded}"),
            format!("bad request: client_secret={encoded}"),
            format!("{{\"client_secret\": \"{SECRET}\"}}"),
            format!("the secret is {SECRET} here"),
        ] {
            let r = redact(&text, SECRET);
            assert!(!r.contains(SECRET) && !r.contains(&encoded), "{r}");
            assert!(!r.contains("s3cr3t"), "{r}");
        }
    }

    #[test]
    fn form_data_bearer_tokens_and_jwts_are_hidden() {
        let r = redact("got a=1&b=2 back", "");
        assert_eq!(r, "got *** (form data) back");
        let r = redact("header Authorization: Bearer abc.def-123 rejected", "");
        assert!(!r.contains("abc.def-123"), "{r}");
        let r = redact("token eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl expired", "");
        assert!(!r.contains("eyJzdWIi"), "{r}");
    }

    #[test]
    fn ordinary_messages_are_kept() {
        for text in [
            "Insufficient processing units in your account",
            "invalid_client: Invalid client or Invalid client credentials",
            "Output bands requested but missing from function setup()",
            "Invalid bbox 1.2,43.6",
        ] {
            assert_eq!(redact(text, SECRET), text);
        }
    }
}
