//! The token and catalog endpoints, and the bearer-token check every data endpoint does.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{Value, json};

use super::{
    Answer, CLIENT_ID, CLIENT_SECRET, Fault, Request, Samples, State, answer_json, bad_request,
    fault_answer, take_fault,
};

fn form_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn token(req: &Request, s: &mut State) -> Answer {
    s.token_requests += 1;
    if let Some(f) = take_fault(s, "token")
        && let Some(a) = fault_answer(&f)
    {
        return a;
    }
    if req.method != "POST" {
        return bad_request(s, format!("token: method {} is not POST", req.method));
    }
    if s.echo_token_body {
        // Some gateways quote the request they refused, form body and all.
        let body = String::from_utf8_lossy(&req.body).into_owned();
        return answer_json(
            400,
            json!({"error": "invalid_request", "error_description": format!("Could not process request body: {body}")}),
        );
    }
    let ct = req.headers.get("content-type").cloned().unwrap_or_default();
    if !ct.starts_with("application/x-www-form-urlencoded") {
        s.violations.push(format!("token: content type '{ct}'"));
        return answer_json(
            400,
            json!({"error": "invalid_request", "error_description": "Missing form parameter: grant_type"}),
        );
    }
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let fields: HashMap<String, String> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (form_decode(k), form_decode(v)))
        .collect();
    if fields.get("grant_type").map(String::as_str) != Some("client_credentials") {
        s.violations.push(format!("token: grant_type in '{body}'"));
        return answer_json(
            400,
            json!({"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}),
        );
    }
    if fields.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return answer_json(
            401,
            json!({"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"}),
        );
    }
    if fields.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) {
        return answer_json(
            401,
            json!({"error": "unauthorized_client", "error_description": "Invalid client secret"}),
        );
    }
    s.issued += 1;
    let token = format!("eyJ.emulator-token-{}", s.issued);
    s.valid_tokens
        .insert(token.clone(), Instant::now() + s.token_lifetime);
    let expires_in = s
        .expires_in_override
        .clone()
        .unwrap_or_else(|| json!(s.token_lifetime.as_secs()));
    answer_json(
        200,
        json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer", "not-before-policy": 0}),
    )
}

/// Checks the bearer token; `Some(answer)` when refused.
pub(super) fn check_auth(req: &Request, s: &mut State, endpoint: &'static str) -> Option<Answer> {
    let mut expire = false;
    let fault = take_fault(s, endpoint);
    if let Some(f) = &fault {
        if let Some(a) = fault_answer(f) {
            return Some(a);
        }
        expire = matches!(f, Fault::ExpireToken);
        if matches!(f, Fault::Truncated) {
            s.faults
                .entry(endpoint)
                .or_default()
                .push_front(Fault::Truncated);
        }
    }
    if expire {
        s.valid_tokens.clear();
    }
    let auth = req
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    let Some(token) = auth.strip_prefix("Bearer ") else {
        s.violations
            .push(format!("{endpoint}: no Bearer token ('{auth}')"));
        return Some(answer_json(
            401,
            json!({"code": 401, "description": "Authentication required"}),
        ));
    };
    if s.valid_tokens
        .get(token)
        .is_none_or(|expiry| Instant::now() >= *expiry)
    {
        return Some(answer_json(
            401,
            json!({"code": 401, "description": "Token is expired or invalid"}),
        ));
    }
    let ct = req.headers.get("content-type").cloned().unwrap_or_default();
    if !ct.starts_with("application/json") {
        return Some(bad_request(s, format!("{endpoint}: content type '{ct}'")));
    }
    None
}

pub(super) fn bbox_ok(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| a.len() == 4 && a.iter().all(Value::is_f64))
}

pub(super) fn catalog(req: &Request, s: &mut State, samples: &Samples) -> Answer {
    s.catalog_requests += 1;
    if let Some(a) = check_auth(req, s, "catalog") {
        return a;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return bad_request(s, "catalog: body is not JSON".into());
    };
    if body["collections"] != json!(["sentinel-2-l2a"]) {
        return bad_request(s, format!("catalog: collections {}", body["collections"]));
    }
    if !bbox_ok(&body["bbox"]) {
        return bad_request(s, format!("catalog: bbox {}", body["bbox"]));
    }
    let datetime = body["datetime"].as_str().unwrap_or("");
    let Some((from, to)) = datetime.split_once('/') else {
        return bad_request(s, format!("catalog: datetime '{datetime}'"));
    };
    if !(from.ends_with('Z') && to.ends_with('Z') && from.len() == 20 && to.len() == 20) {
        return bad_request(s, format!("catalog: datetime '{datetime}'"));
    }
    let filter = body["filter"].as_str().unwrap_or("");
    let max_cc: f64 = match filter.strip_prefix("eo:cloud_cover < ") {
        Some(v) => match v.trim().parse() {
            Ok(x) => x,
            Err(_) => return bad_request(s, format!("catalog: filter '{filter}'")),
        },
        None if filter.is_empty() => 100.0,
        None => return bad_request(s, format!("catalog: filter '{filter}'")),
    };
    if !filter.is_empty() && body["filter-lang"] != json!("cql2-text") {
        return bad_request(s, "catalog: filter-lang must be cql2-text".into());
    }
    let limit = match &body["limit"] {
        Value::Null => 10,
        v => match v.as_u64() {
            Some(n @ 1..=100) => n as usize,
            _ => return bad_request(s, format!("catalog: limit {v}")),
        },
    };
    let offset = match &body["next"] {
        Value::Null => 0,
        v => match v.as_u64() {
            Some(n) => n as usize,
            None => return bad_request(s, format!("catalog: next {v}")),
        },
    };
    let (from, to) = (&from[..10], &to[..10]);
    let mut features = Vec::new();
    for d in &samples.dates {
        if d.as_str() < from || d.as_str() > to {
            continue;
        }
        let tiles: &[(&str, &str, f64)] = if s.duplicates {
            &[("T31TCJ", "10:56:01", 3.5), ("T31TCH", "10:56:15", 8.25)]
        } else {
            &[("T31TCJ", "10:56:01", 3.5)]
        };
        for (tile, time, cc) in tiles {
            if *cc < max_cc {
                features.push(json!({
                    "type": "Feature",
                    "id": format!("S2A_MSIL2A_{}_{tile}", d.replace('-', "")),
                    "properties": {"datetime": format!("{d}T{time}Z"), "eo:cloud_cover": cc}
                }));
            }
        }
    }
    let page = limit.min(s.page_size);
    let end = (offset + page).min(features.len());
    let slice = features.get(offset..end).unwrap_or(&[]).to_vec();
    let mut context = json!({"limit": page, "returned": slice.len()});
    if end < features.len() {
        context["next"] = json!(end);
    }
    answer_json(
        200,
        json!({"type": "FeatureCollection", "features": slice, "context": context}),
    )
}
