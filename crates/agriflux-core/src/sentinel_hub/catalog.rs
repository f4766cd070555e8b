//! Catalog API (STAC search): which acquisitions exist over an area.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::client::Client;
use super::error::ShError;
use crate::settings::{Bbox, DateRange};
use crate::source::Acquisition;
use agriflux_base::CancelToken;

/// Path of the catalog search endpoint.
pub const CATALOG_PATH: &str = "/api/v1/catalog/1.0.0/search";
/// The collection searched and processed.
pub const COLLECTION: &str = "sentinel-2-l2a";
/// Features per catalog page.
const PAGE_LIMIT: usize = 100;
/// Most pages followed (a guard against a server that never ends paging).
const MAX_PAGES: usize = 1000;

/// The search body for `area`, `dates` and tile cloud cover below `max_cloud_cover`.
pub fn search_body(area: &Bbox, dates: &DateRange, max_cloud_cover: f64, limit: usize) -> Value {
    json!({
        "collections": [COLLECTION],
        "bbox": [area.min_lon, area.min_lat, area.max_lon, area.max_lat],
        "datetime": format!("{}T00:00:00Z/{}T23:59:59Z", dates.start, dates.end),
        "filter": format!("eo:cloud_cover < {max_cloud_cover}"),
        "filter-lang": "cql2-text",
        "limit": limit,
    })
}

/// One page's features as (UTC day, cloud cover).
fn page_features(url: &str, page: &Value) -> Result<Vec<(NaiveDate, f64)>, ShError> {
    let bad = |detail: String| ShError::BadResponse {
        url: url.to_string(),
        detail,
    };
    let features = page["features"]
        .as_array()
        .ok_or_else(|| bad("catalog answer has no 'features' array".into()))?;
    features
        .iter()
        .map(|f| {
            let datetime = f["properties"]["datetime"]
                .as_str()
                .ok_or_else(|| bad(format!("feature {} has no properties.datetime", f["id"])))?;
            let date = datetime
                .get(..10)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| bad(format!("unreadable datetime '{datetime}'")))?;
            let cloud = f["properties"]["eo:cloud_cover"].as_f64().unwrap_or(0.0);
            Ok((date, cloud))
        })
        .collect()
}

/// All acquisitions: follows `context.next`, collapses features of one UTC day into one
/// acquisition (lowest tile cloud cover), sorted by date.
pub fn search(
    client: &Client,
    area: &Bbox,
    dates: &DateRange,
    max_cloud_cover: f64,
    cancel: &CancelToken,
) -> Result<Vec<Acquisition>, ShError> {
    let url = format!("{}{CATALOG_PATH}", client.settings().base_url);
    let base = search_body(area, dates, max_cloud_cover, PAGE_LIMIT);
    let mut by_day: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    let mut next: Option<Value> = None;
    for _ in 0..MAX_PAGES {
        let mut body = base.clone();
        if let Some(n) = &next {
            body["next"] = n.clone();
        }
        let reply = client.post_json(CATALOG_PATH, &body, "application/json", cancel)?;
        let page: Value =
            serde_json::from_slice(&reply.body).map_err(|e| ShError::BadResponse {
                url: url.clone(),
                detail: format!("catalog answer is not JSON: {e}"),
            })?;
        let features = page_features(&url, &page)?;
        let empty = features.is_empty();
        for (date, cloud) in features {
            if date < dates.start || date > dates.end {
                continue;
            }
            let entry = by_day.entry(date).or_insert(cloud);
            *entry = entry.min(cloud);
        }
        next = Some(page["context"]["next"].clone()).filter(|v| !v.is_null());
        if next.is_none() || empty {
            break;
        }
    }
    Ok(by_day
        .into_iter()
        .map(|(date, cloud_cover)| Acquisition { date, cloud_cover })
        .collect())
}

/// Runs a one-result search (for the connection check); returns the features found.
pub fn probe(
    client: &Client,
    area: &Bbox,
    dates: &DateRange,
    cancel: &CancelToken,
) -> Result<usize, ShError> {
    let url = format!("{}{CATALOG_PATH}", client.settings().base_url);
    let body = search_body(area, dates, 100.0, 1);
    let reply = client.post_json(CATALOG_PATH, &body, "application/json", cancel)?;
    let page: Value = serde_json::from_slice(&reply.body).map_err(|e| ShError::BadResponse {
        url: url.clone(),
        detail: format!("catalog answer is not JSON: {e}"),
    })?;
    Ok(page_features(&url, &page)?.len())
}
