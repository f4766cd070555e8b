//! Observations placed on a scene grid: projected once into pixel coordinates, then asked,
//! per date, which class covers a patch's centre.

use chrono::NaiveDate;

use super::{DATE_TOLERANCE_DAYS, GroundTruthError, Observations, POINT_RADIUS_PX, Shape};
use crate::geometry::{Projector, polygon_contains};
use crate::raster::geotiff::{Crs, GeoTransform};

/// Where an observation lies on the grid, in pixel coordinates `[col, row]` (the top-left
/// corner of the top-left pixel is `[0, 0]`).
#[derive(Clone, Debug)]
enum GridShape {
    Point([f64; 2]),
    Polygons {
        polygons: Vec<Vec<Vec<[f64; 2]>>>,
        /// `[col_min, row_min, col_max, row_max]` of every ring, to skip most tests quickly.
        bounds: [f64; 4],
    },
}

#[derive(Clone, Debug)]
struct GridObservation {
    class: u8,
    date: Option<NaiveDate>,
    shape: GridShape,
}

/// A labels file's observations on one scene grid.
#[derive(Clone, Debug)]
pub struct GridObservations {
    items: Vec<GridObservation>,
    /// Observations that lie wholly outside the grid.
    pub outside: usize,
}

impl GridObservations {
    /// Projects `observations` onto the `width` x `height` grid placed by `transform` in `crs`.
    pub fn project(
        observations: &Observations,
        crs: Crs,
        transform: &GeoTransform,
        width: usize,
        height: usize,
    ) -> Result<Self, GroundTruthError> {
        let projector = Projector::new(observations.crs, crs).map_err(|message| {
            GroundTruthError::Projection {
                path: observations.path.clone(),
                epsg: crs.epsg,
                message,
            }
        })?;
        let to_pixel = |p: [f64; 2]| -> Result<[f64; 2], GroundTruthError> {
            let [x, y] = projector
                .apply(p)
                .map_err(|message| GroundTruthError::Projection {
                    path: observations.path.clone(),
                    epsg: crs.epsg,
                    message,
                })?;
            Ok([
                (x - transform.origin_x) / transform.pixel_width,
                (transform.origin_y - y) / transform.pixel_height,
            ])
        };
        let (w, h) = (width as f64, height as f64);
        let mut items = Vec::with_capacity(observations.items.len());
        let mut outside = 0;
        for o in &observations.items {
            let shape = match &o.shape {
                Shape::Point(p) => {
                    let [c, r] = to_pixel(*p)?;
                    if !(0.0..w).contains(&c) || !(0.0..h).contains(&r) {
                        outside += 1;
                        continue;
                    }
                    GridShape::Point([c, r])
                }
                Shape::Polygons(polygons) => {
                    let polygons = polygons
                        .iter()
                        .map(|rings| {
                            rings
                                .iter()
                                .map(|ring| ring.iter().map(|p| to_pixel(*p)).collect())
                                .collect::<Result<Vec<Vec<_>>, _>>()
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut bounds = [f64::INFINITY, f64::INFINITY, -f64::INFINITY, -f64::INFINITY];
                    for [c, r] in polygons.iter().flatten().flatten() {
                        bounds = [
                            bounds[0].min(*c),
                            bounds[1].min(*r),
                            bounds[2].max(*c),
                            bounds[3].max(*r),
                        ];
                    }
                    if bounds[2] < 0.0 || bounds[3] < 0.0 || bounds[0] >= w || bounds[1] >= h {
                        outside += 1;
                        continue;
                    }
                    GridShape::Polygons { polygons, bounds }
                }
            };
            items.push(GridObservation {
                class: o.class,
                date: o.date,
                shape,
            });
        }
        Ok(Self { items, outside })
    }

    /// Observations on the grid.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no observation lies on the grid.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The observations that can label a scene of `date`: dated within
    /// [`DATE_TOLERANCE_DAYS`], or undated.
    pub fn for_date(&self, date: NaiveDate) -> DateObservations<'_> {
        let candidates = self
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o.date {
                None => Some((i, DATE_TOLERANCE_DAYS + 1)),
                Some(d) => {
                    let gap = (d - date).num_days().abs();
                    (gap <= DATE_TOLERANCE_DAYS).then_some((i, gap))
                }
            })
            .collect();
        DateObservations {
            grid: self,
            candidates,
        }
    }
}

/// The observations that can label the scene of one date.
pub struct DateObservations<'a> {
    grid: &'a GridObservations,
    /// (observation index, days from the scene's date; undated ones count as just past the
    /// tolerance so that a dated observation wins).
    candidates: Vec<(usize, i64)>,
}

impl DateObservations<'_> {
    /// The class observed at pixel (`row`, `col`) and the index of the observation that gave
    /// it: a polygon holding the pixel's centre or a point within [`POINT_RADIUS_PX`]; the
    /// nearest in time wins, then the nearest in space, then the first in the file.
    pub fn class_at(&self, row: usize, col: usize) -> Option<(u8, usize)> {
        let (c, r) = (col as f64 + 0.5, row as f64 + 0.5);
        let mut best: Option<((i64, f64, usize), u8)> = None;
        for &(i, gap) in &self.candidates {
            let o = &self.grid.items[i];
            let distance = match &o.shape {
                GridShape::Point([pc, pr]) => {
                    let d = (pc - c).abs().max((pr - r).abs());
                    if d > POINT_RADIUS_PX {
                        continue;
                    }
                    d
                }
                GridShape::Polygons { polygons, bounds } => {
                    if c < bounds[0] || c > bounds[2] || r < bounds[1] || r > bounds[3] {
                        continue;
                    }
                    if !polygons.iter().any(|rings| polygon_contains(rings, [c, r])) {
                        continue;
                    }
                    0.0
                }
            };
            let key = (gap, distance, i);
            if best.as_ref().is_none_or(|(b, _)| {
                (key.0, key.1) < (b.0, b.1) || ((key.0, key.1) == (b.0, b.1) && key.2 < b.2)
            }) {
                best = Some((key, o.class));
            }
        }
        best.map(|((_, _, i), class)| (class, i))
    }
}
