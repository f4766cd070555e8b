//! What a GeoTIFF's file name says: its acquisition date and, for one-band files, its band.

use chrono::NaiveDate;

/// Bands the pipeline uses, in the order of a scene's `bands` (then the optional SCL).
pub const WANTED_BANDS: [&str; 4] = ["B02", "B03", "B04", "B08"];

/// The band a file name names, upper-case (`B04`, `B8A`, `SCL`), when exactly one of its
/// words is a Sentinel-2 band name. Words are separated by anything but letters and digits,
/// so `T31TCJ_20180429T105031_B04_10m.tif` and the Copernicus Browser's
/// `2024-06-01-00:00_2024-06-01-23:59_Sentinel-2_L2A_B04_(Raw).tiff` both name `B04`.
pub fn band_in_name(stem: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for word in stem.split(|c: char| !c.is_ascii_alphanumeric()) {
        let upper = word.to_ascii_uppercase();
        let is_band = upper == "SCL"
            || upper == "B8A"
            || (upper.len() == 3
                && upper.starts_with('B')
                && upper[1..].chars().all(|c| c.is_ascii_digit()));
        if is_band {
            if found.as_ref().is_some_and(|f| *f != upper) {
                return None; // two band names: not a one-band file
            }
            found = Some(upper);
        }
    }
    found
}

/// The first date in a file name: `YYYY-MM-DD`, or eight digits `YYYYMMDD` not part of a
/// longer number (`20180429T105031` counts, `1234567890` does not).
pub fn date_in_name(name: &str) -> Option<NaiveDate> {
    let b = name.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for i in 0..b.len() {
        if i > 0 && digit(i - 1) {
            continue;
        }
        // YYYY-MM-DD
        if (0..10).all(|k| {
            if k == 4 || k == 7 {
                b.get(i + k) == Some(&b'-')
            } else {
                digit(i + k)
            }
        }) && !digit(i + 10)
            && let Ok(date) = NaiveDate::parse_from_str(&name[i..i + 10], "%Y-%m-%d")
        {
            return Some(date);
        }
        // YYYYMMDD
        if (0..8).all(|k| digit(i + k))
            && !digit(i + 8)
            && let Ok(date) = NaiveDate::parse_from_str(&name[i..i + 8], "%Y%m%d")
        {
            return Some(date);
        }
    }
    None
}

/// The day of a TIFF `DateTime` tag (`YYYY:MM:DD HH:MM:SS`; GDAL also writes `YYYY-MM-DD`).
pub fn date_in_tiff_datetime(text: &str) -> Option<NaiveDate> {
    let day = text.trim().get(..10)?.replace(':', "-");
    NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn understands_copernicus_browser_names() {
        let name = "2024-06-01-00:00_2024-06-01-23:59_Sentinel-2_L2A_B04_(Raw).tiff";
        assert_eq!(band_in_name(name).as_deref(), Some("B04"));
        assert_eq!(date_in_name(name), Some(day("2024-06-01")));
        let scl =
            "2024-06-01-00:00_2024-06-01-23:59_Sentinel-2_L2A_Scene_classification_map_(SCL).tiff";
        assert_eq!(band_in_name(scl).as_deref(), Some("SCL"));
    }

    #[test]
    fn understands_esa_product_and_plain_names() {
        let name = "T31TCJ_20180429T105031_B08_10m.tif";
        assert_eq!(band_in_name(name).as_deref(), Some("B08"));
        assert_eq!(date_in_name(name), Some(day("2018-04-29")));
        assert_eq!(band_in_name("bouconne_2018-05-13.tif"), None);
        assert_eq!(
            date_in_name("bouconne_2018-05-13.tif"),
            Some(day("2018-05-13"))
        );
        assert_eq!(band_in_name("s2_B8A.tif").as_deref(), Some("B8A"));
    }

    #[test]
    fn refuses_names_without_a_real_date() {
        assert_eq!(date_in_name("scene_1234567890.tif"), None);
        assert_eq!(date_in_name("scene_2018-13-45.tif"), None);
        assert_eq!(date_in_name("bands.tif"), None);
        assert_eq!(band_in_name("stack_B02_B03_B04_B08.tif"), None);
    }

    #[test]
    fn reads_tiff_datetime_tags() {
        assert_eq!(
            date_in_tiff_datetime("2018:07:08 10:50:31"),
            Some(day("2018-07-08"))
        );
        assert_eq!(date_in_tiff_datetime("yesterday"), None);
    }
}
