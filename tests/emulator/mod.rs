//! An emulator of the Sentinel Hub APIs (OAuth token, Catalog, Process) on 127.0.0.1, strict
//! about requests like the real service, with scriptable faults and request counters. It
//! serves the real Bouconne sample (or a small synthetic cube) as UINT16 DN + UINT8 SCL/dataMask
//! GeoTIFFs inside a tar, compressed like the real service (Deflate with code 32946 and the
//! horizontal predictor by default, made by GDAL), and behaves like Copernicus Data Space where
//! told to: short-lived tokens, 429 without `Retry-After`, an exhausted monthly quota.

mod handlers;
mod process;

#[allow(unused_imports)] // each test binary uses a different part
pub use process::{Compression, gdal_available, tiff_tag};

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agriflux_core::datasets::npy::read_npy;
use serde_json::{Value, json};

use handlers::{catalog, token};
use process::process;

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
    /// 429 with this exact `Retry-After` header value (absurd ones included).
    RateLimitRaw(String),
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
    /// How the Process API's GeoTIFFs are compressed.
    pub compression: Compression,
    /// Lifetime of a token; an expired one gets 401 (Copernicus Data Space: about 10 min).
    pub token_lifetime: Duration,
    /// Sent as `expires_in` instead of the lifetime (absurd values for robustness tests).
    pub expires_in_override: Option<Value>,
    /// The token endpoint answers 400 echoing the request body (a careless gateway).
    pub echo_token_body: bool,
    /// Every request to every endpoint answers 429 with this `Retry-After` (None: no header).
    pub rate_limit_forever: Option<Option<String>>,
    /// Images served before the monthly quota is used up; then Process answers
    /// `quota_status` with [`QUOTA_MESSAGE`].
    pub quota_images: Option<usize>,
    /// 403 (Sentinel Hub APIs) or 402 (openEO) once the quota is used up.
    pub quota_status: u16,
    /// Tokens issued and still valid, with their expiry.
    valid_tokens: HashMap<String, Instant>,
    issued: usize,
}

/// The message of an exhausted quota (as Copernicus Data Space words it, roughly).
pub const QUOTA_MESSAGE: &str =
    "You have exceeded your monthly processing units quota of 10000 PU for Copernicus General";

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
            compression: Compression::default_mode(),
            token_lifetime: Duration::from_secs(3600),
            quota_status: 403,
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

    /// Answers per endpoint with this status so far.
    pub fn answered(&self, endpoint: &str, status: u16) -> usize {
        self.with(|s| {
            s.log
                .iter()
                .filter(|(e, _, st)| e == endpoint && *st == status)
                .count()
        })
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
    // A guard so that a client that never stops cannot hang a test: after 1000 requests the
    // endless 429s turn into 503s (a fixed client never gets there).
    let forever = {
        let s = state.lock().unwrap();
        let total = s.token_requests + s.catalog_requests + s.process_requests;
        match &s.rate_limit_forever {
            Some(_) if total >= 1000 => Some(Some("stop".to_string())),
            other => other.clone(),
        }
    };
    let answer = match (endpoint, forever) {
        ("other", _) | (_, None) => None,
        (_, Some(header)) => {
            let mut s = state.lock().unwrap();
            match endpoint {
                "token" => s.token_requests += 1,
                "catalog" => s.catalog_requests += 1,
                _ => s.process_requests += 1,
            }
            let fault = match header {
                Some(h) if h == "stop" => {
                    Fault::Status(503, "emulator: over 1000 requests, giving up".into())
                }
                Some(h) => Fault::RateLimitRaw(h),
                None => Fault::RateLimitNoHeader,
            };
            fault_answer(&fault)
        }
    };
    let answer = match (answer, endpoint) {
        (Some(a), _) => a,
        (None, "token") => token(&req, &mut state.lock().unwrap()),
        (None, "catalog") => catalog(&req, &mut state.lock().unwrap(), samples),
        (None, "process") => {
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
        (None, _) => answer_json(
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
        402 => "Payment Required",
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
        Fault::RateLimitRaw(value) => {
            let mut a = answer_json(
                429,
                json!({"error": {"status": 429, "reason": "Too Many Requests", "message": "You have exceeded the rate limit", "code": "RATE_LIMIT_EXCEEDED"}}),
            );
            a.headers.push(("Retry-After".into(), value.clone()));
            Some(a)
        }
        Fault::RateLimitNoHeader => Some(answer_json(
            429,
            json!({"error": {"status": 429, "message": "rate limit"}}),
        )),
        Fault::Truncated | Fault::ExpireToken => None,
    }
}

/// A WGS84 bbox `MINLON,MINLAT,MAXLON,MAXLAT` whose 10 m grid is exactly `w` x `h` px.
pub fn bbox_for_grid(lon0: f64, lat0: f64, w: usize, h: usize) -> String {
    let dlat = h as f64 * 10.0 / 110_574.0;
    let lat_c = (lat0 + dlat / 2.0).to_radians();
    let dlon = w as f64 * 10.0 / (111_320.0 * lat_c.cos());
    format!("{lon0},{lat0},{},{}", lon0 + dlon, lat0 + dlat)
}

/// `agriflux run` arguments for a whole run against the emulator serving `samples` (flags that
/// fit the 7 Bouconne dates); the area's 10 m grid is exactly 227 x 246 px.
pub fn run_args(dir: &Path, samples: &Samples) -> Vec<String> {
    let bbox = bbox_for_grid(1.2, 43.6, samples.width, samples.height);
    [
        "run",
        "--workdir",
        dir.to_str().unwrap(),
        "--source",
        "sentinel-hub",
        "--bbox",
        &bbox,
        "--start",
        "2018-01-01",
        "--end",
        "2018-12-31",
        "--target-count",
        "7",
        "--min-valid-dates",
        "7",
        "--sequence-length",
        "3",
        "--samples-per-class",
        "16",
        "--cnn-epochs",
        "1",
        "--lstm-epochs",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
