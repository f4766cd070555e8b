//! An emulator of the Sentinel Hub APIs (OAuth token, Catalog, Process) on 127.0.0.1, strict
//! about requests like the real service, with scriptable faults and request counters. It
//! serves the real Bouconne sample (or a small synthetic cube) as UINT16 DN + UINT8 SCL/dataMask
//! GeoTIFFs inside a tar.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agriflux_core::datasets::npy::read_npy;
use agriflux_core::raster::geotiff::{Crs, GeoTransform, Raster, RasterData, write_geotiff};
use serde_json::{Value, json};

/// The client id the emulator knows.
pub const CLIENT_ID: &str = "emulator-client-0001";
/// Its secret (with characters that need URL encoding).
pub const CLIENT_SECRET: &str = "Zx9-s3cr3t&value+/=%emul";
/// Token path (the commercial preset's form).
pub const TOKEN_PATH: &str = "/auth/realms/main/protocol/openid-connect/token";
/// Catalog search path.
pub const CATALOG_PATH: &str = "/api/v1/catalog/1.0.0/search";
/// Process path.
pub const PROCESS_PATH: &str = "/api/v1/process";

/// A scripted fault, consumed by the next request to its endpoint.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status with this body.
    Status(u16, String),
    /// Answer 429 with `Retry-After` in milliseconds.
    RateLimit(u64),
    /// 429 without Retry-After header.
    RateLimitNoHeader,
    /// Serve a tar whose bands.tif is cut in half.
    Truncated,
    /// Invalidate every token issued so far before checking this request.
    ExpireToken,
}

/// The served image cube (T, H, W, 4) reflectance, NaN = no data.
pub struct Samples {
    /// Dates, YYYY-MM-DD.
    pub dates: Vec<String>,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Reflectance, (T, H, W, 4).
    pub data: Vec<f32>,
}

impl Samples {
    /// The real Bouconne 2018 sample, if present.
    pub fn bouconne() -> Option<Samples> {
        let dir = agriflux_tests::real_samples_dir()?.join("bouconne-2018");
        let npy = dir.join("s2_B02_B03_B04_B08.npy");
        if !npy.exists() {
            return None;
        }
        let (shape, data) = read_npy::<f32>(&npy).expect("readable sample");
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).ok()?).ok()?;
        let dates = meta["acquisition_dates"]
            .as_array()?
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect::<Vec<_>>();
        assert_eq!(shape, vec![dates.len(), shape[1], shape[2], 4]);
        Some(Samples {
            dates,
            height: shape[1],
            width: shape[2],
            data,
        })
    }

    /// A small synthetic cube: 7 dates in 2018, 80 x 70 px, a NaN corner.
    pub fn synthetic() -> Samples {
        let dates: Vec<String> = [
            "2018-04-29",
            "2018-05-13",
            "2018-07-08",
            "2018-08-15",
            "2018-09-15",
            "2018-10-15",
            "2018-11-15",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (height, width) = (70, 80);
        let mut data = Vec::with_capacity(dates.len() * height * width * 4);
        for t in 0..dates.len() {
            for r in 0..height {
                for c in 0..width {
                    let nodata = r < 5 && c < 5;
                    for b in 0..4 {
                        let v = 0.02 + 0.01 * b as f32 + 0.001 * ((r + c + t) % 50) as f32;
                        data.push(if nodata { f32::NAN } else { v });
                    }
                }
            }
        }
        Samples {
            dates,
            height,
            width,
            data,
        }
    }

    /// The real sample if present, else the synthetic one.
    pub fn best() -> Samples {
        Self::bouconne().unwrap_or_else(Self::synthetic)
    }

    /// Reflectance of date index `t` at (row, col, band) of the source grid.
    pub fn value(&self, t: usize, row: usize, col: usize, band: usize) -> f32 {
        self.data[((t * self.height + row) * self.width + col) * 4 + band]
    }
}

/// What the emulator saw and what it is told to do.
#[derive(Default)]
pub struct State {
    /// Token requests received.
    pub token_requests: usize,
    /// Catalog requests received.
    pub catalog_requests: usize,
    /// Process requests received (faulted ones included).
    pub process_requests: usize,
    /// Process requests answered with an image.
    pub process_served: usize,
    /// Faults queued per endpoint ("token", "catalog", "process").
    pub faults: HashMap<&'static str, VecDeque<Fault>>,
    /// Catalog page size (features per page at most).
    pub page_size: usize,
    /// Two features (neighbouring tiles) per acquisition.
    pub duplicates: bool,
    /// After this many served images, process requests hang until `released`.
    pub stall_after: Option<usize>,
    /// Ends a stall.
    pub released: bool,
    /// Requests the strict checks refused (a test expects none).
    pub violations: Vec<String>,
    /// (endpoint, time, status) of every answer.
    pub log: Vec<(String, Instant, u16)>,
    /// Arrival time of every request per endpoint.
    pub arrivals: Vec<(String, Instant)>,
    /// Processing units reported per image.
    pub pu_per_image: f64,
    valid_tokens: HashSet<String>,
    issued: usize,
}

/// A running emulator; stops when dropped.
pub struct Emulator {
    /// Listening address.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn answer_json(status: u16, v: Value) -> Answer {
    Answer {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: v.to_string().into_bytes(),
    }
}

fn bad_request(state: &mut State, message: String) -> Answer {
    state.violations.push(message.clone());
    answer_json(
        400,
        json!({"error": {"status": 400, "reason": "Bad Request", "message": message, "code": "COMMON_BAD_PAYLOAD"}}),
    )
}

impl Emulator {
    /// Starts an emulator serving `samples`.
    pub fn start(samples: Samples) -> Emulator {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            page_size: 100,
            pu_per_image: 1.25,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(samples);
        {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (state, stop, samples) = (state.clone(), stop.clone(), samples.clone());
                    std::thread::spawn(move || serve(conn, &state, &stop, &samples));
                }
            });
        }
        Emulator { addr, state, stop }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The token URL.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.base_url())
    }

    /// `.env` lines pointing a work directory at this emulator with these credentials.
    pub fn env_text(&self, client_id: &str, secret: &str) -> String {
        format!(
            "SENTINEL_HUB_CLIENT_ID={client_id}\nSENTINEL_HUB_CLIENT_SECRET={secret}\nSENTINEL_HUB_BASE_URL={}\nSENTINEL_HUB_TOKEN_URL={}\n",
            self.base_url(),
            self.token_url()
        )
    }

    /// Runs `f` on the state.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// Queues a fault for the next request to `endpoint` ("token", "catalog", "process").
    pub fn push_fault(&self, endpoint: &'static str, fault: Fault) {
        self.with(|s| s.faults.entry(endpoint).or_default().push_back(fault));
    }

    /// (token, catalog, process) request counts.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.with(|s| (s.token_requests, s.catalog_requests, s.process_requests))
    }

    /// Strictness violations seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.with(|s| s.violations.clone())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.with(|s| s.released = true);
        let _ = TcpStream::connect(self.addr);
    }
}

fn read_request(conn: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn serve(mut conn: TcpStream, state: &Mutex<State>, stop: &AtomicBool, samples: &Samples) {
    let Some(req) = read_request(&conn) else {
        return;
    };
    let endpoint = match req.path.as_str() {
        TOKEN_PATH => "token",
        CATALOG_PATH => "catalog",
        PROCESS_PATH => "process",
        _ => "other",
    };
    state
        .lock()
        .unwrap()
        .arrivals
        .push((endpoint.to_string(), Instant::now()));
    let answer = match endpoint {
        "token" => token(&req, &mut state.lock().unwrap()),
        "catalog" => catalog(&req, &mut state.lock().unwrap(), samples),
        "process" => {
            // Stall (for kill tests) outside the lock.
            let stalled = {
                let s = state.lock().unwrap();
                s.stall_after.is_some_and(|n| s.process_served >= n) && !s.released
            };
            if stalled {
                state.lock().unwrap().process_requests += 1;
                while !stop.load(Ordering::SeqCst) && !state.lock().unwrap().released {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return; // drop the connection without an answer
            }
            process(&req, &mut state.lock().unwrap(), samples)
        }
        _ => answer_json(
            404,
            json!({"error": {"status": 404, "message": "not found"}}),
        ),
    };
    state
        .lock()
        .unwrap()
        .log
        .push((endpoint.to_string(), Instant::now(), answer.status));
    let reason = match answer.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (k, v) in &answer.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&answer.body);
    let _ = conn.flush();
}

fn take_fault(state: &mut State, endpoint: &'static str) -> Option<Fault> {
    state.faults.get_mut(endpoint).and_then(|q| q.pop_front())
}

fn fault_answer(fault: &Fault) -> Option<Answer> {
    match fault {
        Fault::Status(status, body) => Some(Answer {
            status: *status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.clone().into_bytes(),
        }),
        Fault::RateLimit(ms) => {
            let mut a = answer_json(
                429,
                json!({"error": {"status": 429, "reason": "Too Many Requests", "message": "You have exceeded the rate limit", "code": "RATE_LIMIT_EXCEEDED"}}),
            );
            a.headers.push(("Retry-After".into(), ms.to_string()));
            Some(a)
        }
        Fault::RateLimitNoHeader => Some(answer_json(
            429,
            json!({"error": {"status": 429, "message": "rate limit"}}),
        )),
        Fault::Truncated | Fault::ExpireToken => None,
    }
}

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

fn token(req: &Request, s: &mut State) -> Answer {
    s.token_requests += 1;
    if let Some(f) = take_fault(s, "token")
        && let Some(a) = fault_answer(&f)
    {
        return a;
    }
    if req.method != "POST" {
        return bad_request(s, format!("token: method {} is not POST", req.method));
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
    s.valid_tokens.insert(token.clone());
    answer_json(
        200,
        json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer", "not-before-policy": 0}),
    )
}

/// Checks the bearer token; `Some(answer)` when refused.
fn check_auth(req: &Request, s: &mut State, endpoint: &'static str) -> Option<Answer> {
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
    if !s.valid_tokens.contains(token) {
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

fn bbox_ok(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| a.len() == 4 && a.iter().all(Value::is_f64))
}

fn catalog(req: &Request, s: &mut State, samples: &Samples) -> Answer {
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

fn tiff_bytes(raster: &Raster) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.tif");
    write_geotiff(&path, raster).unwrap();
    std::fs::read(&path).unwrap()
}

fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *bytes).unwrap();
    }
    builder.into_inner().unwrap()
}

fn process(req: &Request, s: &mut State, samples: &Samples) -> Answer {
    s.process_requests += 1;
    if let Some(a) = check_auth(req, s, "process") {
        return a;
    }
    let truncated = matches!(
        s.faults.get_mut("process").and_then(|q| q.front()),
        Some(Fault::Truncated)
    );
    if truncated {
        s.faults.get_mut("process").unwrap().pop_front();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return bad_request(s, "process: body is not JSON".into());
    };
    let input = &body["input"];
    if !bbox_ok(&input["bounds"]["bbox"]) {
        return bad_request(s, "process: input.bounds.bbox".into());
    }
    let crs = input["bounds"]["properties"]["crs"].as_str().unwrap_or("");
    if crs != "http://www.opengis.net/def/crs/EPSG/0/4326" {
        return bad_request(s, format!("process: crs '{crs}'"));
    }
    let data = &input["data"][0];
    if data["type"] != json!("sentinel-2-l2a") {
        return bad_request(s, format!("process: data type {}", data["type"]));
    }
    let from = data["dataFilter"]["timeRange"]["from"]
        .as_str()
        .unwrap_or("");
    if from.len() != 20 || data["dataFilter"]["timeRange"]["to"].as_str().is_none() {
        return bad_request(s, "process: dataFilter.timeRange".into());
    }
    let output = &body["output"];
    if !output["resx"].is_null() || !output["resy"].is_null() {
        return bad_request(s, "process: width/height and resx/resy together".into());
    }
    let (w, h) = match (output["width"].as_u64(), output["height"].as_u64()) {
        (Some(w @ 1..=2500), Some(h @ 1..=2500)) => (w as usize, h as usize),
        _ => {
            return bad_request(
                s,
                format!(
                    "process: width/height {} x {} outside 1..=2500",
                    output["width"], output["height"]
                ),
            );
        }
    };
    let ids: Vec<String> = output["responses"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x["identifier"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let evalscript: String = body["evalscript"]
        .as_str()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if !evalscript.starts_with("//VERSION=3") {
        return bad_request(s, "process: evalscript is not //VERSION=3".into());
    }
    for id in &ids {
        if !evalscript.contains(&format!("id:\"{id}\""))
            && !evalscript.contains(&format!("id:'{id}'"))
        {
            return bad_request(
                s,
                format!("Output {id} requested but missing from function setup()"),
            );
        }
    }
    if ids != ["bands", "scl"] {
        return bad_request(s, format!("process: responses {ids:?}"));
    }
    let accept = req.headers.get("accept").cloned().unwrap_or_default();
    if accept != "application/x-tar" {
        return bad_request(
            s,
            format!("process: two responses need Accept: application/x-tar, got '{accept}'"),
        );
    }
    // Nearest-neighbour resampling of the served date onto the requested grid.
    let t = samples.dates.iter().position(|d| d.as_str() == &from[..10]);
    let mut dn = Vec::with_capacity(w * h * 4);
    let mut qa = Vec::with_capacity(w * h * 2);
    for r in 0..h {
        for c in 0..w {
            let (sr, sc) = (r * samples.height / h, c * samples.width / w);
            let px: Option<Vec<f32>> = t.and_then(|t| {
                let v: Vec<f32> = (0..4).map(|b| samples.value(t, sr, sc, b)).collect();
                v.iter().all(|x| x.is_finite()).then_some(v)
            });
            match px {
                Some(v) => {
                    dn.extend(
                        v.iter()
                            .map(|x| (x * 10_000.0).round().clamp(0.0, 65535.0) as u16),
                    );
                    qa.extend([4u8, 1u8]);
                }
                None => {
                    dn.extend([0u16; 4]);
                    qa.extend([0u8, 0u8]);
                }
            }
        }
    }
    let bbox: Vec<f64> = input["bounds"]["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let transform = GeoTransform::from_bbox([bbox[0], bbox[1], bbox[2], bbox[3]], w, h);
    let raster = |data, bands: usize| Raster {
        width: w,
        height: h,
        bands,
        data,
        band_names: vec![String::new(); bands],
        transform,
        crs: Crs::WGS84,
        nodata: None,
    };
    let mut bands_tif = tiff_bytes(&raster(RasterData::U16(dn), 4));
    let scl_tif = tiff_bytes(&raster(RasterData::U8(qa), 2));
    if truncated {
        bands_tif.truncate(bands_tif.len() / 2);
    }
    s.process_served += 1;
    let pu = s.pu_per_image;
    Answer {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/x-tar".into()),
            ("x-processingunits-spent".into(), pu.to_string()),
        ],
        body: tar_of(&[("bands.tif", &bands_tif), ("scl.tif", &scl_tif)]),
    }
}

/// A WGS84 bbox `MINLON,MINLAT,MAXLON,MAXLAT` whose 10 m grid is exactly `w` x `h` px.
pub fn bbox_for_grid(lon0: f64, lat0: f64, w: usize, h: usize) -> String {
    let dlat = h as f64 * 10.0 / 110_574.0;
    let lat_c = (lat0 + dlat / 2.0).to_radians();
    let dlon = w as f64 * 10.0 / (111_320.0 * lat_c.cos());
    format!("{lon0},{lat0},{},{}", lon0 + dlon, lat0 + dlat)
}

/// Whether the file exists (helper for kill tests).
pub fn exists(p: &Path) -> bool {
    p.exists()
}
