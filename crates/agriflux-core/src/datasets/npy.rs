//! NumPy `.npy` files (format version 1.0) for `f32`, `f64`, `i64` and `u8` arrays.
//!
//! Arrays are C-ordered (row-major) and little-endian: dtypes `'<f4'`, `'<f8'`, `'<i8'` and
//! `'|u1'`. The writer pads the header with spaces so the data starts at a multiple of 64
//! bytes, exactly as `numpy.save` does, and writes atomically (temporary file, fsync,
//! rename). The reader also accepts versions 2.0 and 3.0 (longer headers) and refuses
//! Fortran-ordered arrays, other dtypes, bad magic, truncated data and trailing bytes with a
//! specific [`NpyError`].

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::atomic_file::{self, Access};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// The data offset (magic, version, header length and header) is a multiple of this.
const ALIGNMENT: usize = 64;

/// Errors reading or writing a `.npy` file; every message starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file could not be opened, read, written or renamed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file does not start with `\x93NUMPY`.
    #[error("{}: not a .npy file: bad magic {found:02X?}", .path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The first bytes found.
        found: Vec<u8>,
    },
    /// The format version is not 1.0, 2.0 or 3.0.
    #[error("{}: unsupported .npy format version {major}.{minor}", .path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// The header dictionary cannot be parsed or lacks a key.
    #[error("{}: bad .npy header: {detail}", .path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The array's dtype is not the one asked for.
    #[error("{}: dtype is {found:?} but {expected:?} was expected", .path.display())]
    WrongDtype {
        /// The file.
        path: PathBuf,
        /// The dtype of the requested element type.
        expected: &'static str,
        /// The dtype in the file.
        found: String,
    },
    /// The array is stored in Fortran (column-major) order.
    #[error(
        "{}: the array is in Fortran order (fortran_order: True); only C order is supported",
        .path.display()
    )]
    FortranOrder {
        /// The file.
        path: PathBuf,
    },
    /// The file ends before the header or the data does.
    #[error("{}: truncated: {detail}", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part is missing.
        detail: String,
    },
    /// The file holds more bytes than the header's shape and dtype account for.
    #[error("{}: {extra} unexpected bytes after the array data", .path.display())]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// How many bytes follow the data.
        extra: usize,
    },
    /// The shape's element count differs from the data's length (when writing).
    #[error(
        "{}: shape {shape:?} holds {expected} elements but {len} were given",
        .path.display()
    )]
    ShapeMismatch {
        /// The file that was to be written.
        path: PathBuf,
        /// The shape given.
        shape: Vec<usize>,
        /// The product of the shape (`usize::MAX` if it overflows).
        expected: usize,
        /// The number of elements given.
        len: usize,
    },
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for i64 {}
    impl Sealed for u8 {}
}

/// An element type storable in a `.npy` file: `f32`, `f64`, `i64` or `u8`.
pub trait NpyElement: Copy + sealed::Sealed {
    /// The NumPy dtype string, e.g. `<f4`.
    const DESCR: &'static str;
    /// Bytes per element.
    const SIZE: usize;
    /// Appends the element's little-endian bytes.
    fn write_le(self, out: &mut Vec<u8>);
    /// Decodes an element from `SIZE` little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;
}

macro_rules! npy_element {
    ($t:ty, $descr:literal) => {
        impl NpyElement for $t {
            const DESCR: &'static str = $descr;
            const SIZE: usize = std::mem::size_of::<$t>();
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("SIZE bytes"))
            }
        }
    };
}

npy_element!(f32, "<f4");
npy_element!(f64, "<f8");
npy_element!(i64, "<i8");
npy_element!(u8, "|u1");

/// Writes `data` with `shape` (C order) to `path` as `.npy` v1.0, atomically.
pub fn write_npy<T: NpyElement>(path: &Path, shape: &[usize], data: &[T]) -> Result<(), NpyError> {
    let expected = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .unwrap_or(usize::MAX);
    if expected != data.len() {
        return Err(NpyError::ShapeMismatch {
            path: path.to_path_buf(),
            shape: shape.to_vec(),
            expected,
            len: data.len(),
        });
    }
    let header = header_bytes(T::DESCR, shape);
    atomic_file::write_with(path, Access::Shared, |file| {
        let mut out = BufWriter::with_capacity(1 << 16, file);
        out.write_all(&header)?;
        // Convert in chunks to keep memory flat for large arrays.
        let mut buf = Vec::with_capacity(64 * 1024);
        for chunk in data.chunks((64 * 1024 / T::SIZE).max(1)) {
            buf.clear();
            chunk.iter().for_each(|&x| x.write_le(&mut buf));
            out.write_all(&buf)?;
        }
        out.flush()
    })
    .map_err(|source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The magic, version 1.0, header length and space-padded header dictionary.
fn header_bytes(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [single] => format!("({single},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // 10 bytes of preamble, the dict, spaces, and a final newline.
    let total = (10 + dict.len() + 1).next_multiple_of(ALIGNMENT);
    let pad = total - 10 - dict.len() - 1;
    dict.extend(std::iter::repeat_n(' ', pad));
    dict.push('\n');
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // Shapes need billions of dimensions before the header exceeds a u16.
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Reads a `.npy` file of element type `T`; returns its shape and its data in C order.
pub fn read_npy<T: NpyElement>(path: &Path) -> Result<(Vec<usize>, Vec<T>), NpyError> {
    let bytes = fs::read(path).map_err(|source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_npy(path, &bytes)
}

/// Parses `.npy` bytes; `path` is used in error messages.
fn parse_npy<T: NpyElement>(path: &Path, bytes: &[u8]) -> Result<(Vec<usize>, Vec<T>), NpyError> {
    let truncated = |detail: String| NpyError::Truncated {
        path: path.to_path_buf(),
        detail,
    };
    let bad_header = |detail: String| NpyError::BadHeader {
        path: path.to_path_buf(),
        detail,
    };
    if !bytes.starts_with(&MAGIC[..bytes.len().min(MAGIC.len())]) {
        return Err(NpyError::BadMagic {
            path: path.to_path_buf(),
            found: bytes[..bytes.len().min(MAGIC.len())].to_vec(),
        });
    }
    if bytes.len() < 10 {
        return Err(truncated(format!(
            "the file has {} bytes, a .npy preamble needs at least 10",
            bytes.len()
        )));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_start, header_len) = match major {
        1 => (10, usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))),
        2 | 3 if bytes.len() >= 12 => (
            12,
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
        ),
        2 | 3 => {
            return Err(truncated(format!(
                "the file has {} bytes, a version {major}.{minor} preamble needs 12",
                bytes.len()
            )));
        }
        _ => {
            return Err(NpyError::UnsupportedVersion {
                path: path.to_path_buf(),
                major,
                minor,
            });
        }
    };
    let data_start = header_start + header_len;
    if data_start > bytes.len() {
        return Err(truncated(format!(
            "the header ends at byte {data_start} but the file has {} bytes",
            bytes.len()
        )));
    }
    let header = std::str::from_utf8(&bytes[header_start..data_start])
        .map_err(|_| bad_header("the header is not valid text".to_string()))?;
    let dict = parse_header(header).map_err(bad_header)?;

    if dict.descr != T::DESCR {
        return Err(NpyError::WrongDtype {
            path: path.to_path_buf(),
            expected: T::DESCR,
            found: dict.descr,
        });
    }
    if dict.fortran_order {
        return Err(NpyError::FortranOrder {
            path: path.to_path_buf(),
        });
    }
    let data = &bytes[data_start..];
    let data_len = dict
        .shape
        .iter()
        .try_fold(T::SIZE, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad_header(format!("shape {:?} is too large", dict.shape)))?;
    if data.len() < data_len {
        return Err(truncated(format!(
            "shape {:?} of {} needs {data_len} data bytes but the file has {} after the header",
            dict.shape,
            T::DESCR,
            data.len()
        )));
    }
    if data.len() > data_len {
        return Err(NpyError::TrailingBytes {
            path: path.to_path_buf(),
            extra: data.len() - data_len,
        });
    }
    let values = data.chunks_exact(T::SIZE).map(T::read_le).collect();
    Ok((dict.shape, values))
}

/// The three keys of a `.npy` header dictionary.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the Python dict literal of a `.npy` header, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (5, 101, 100, 4), }`.
fn parse_header(text: &str) -> Result<Header, String> {
    let mut p = Parser {
        s: text.trim_end(),
        pos: 0,
    };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    p.expect('{')?;
    loop {
        p.skip_ws();
        if p.eat('}') {
            break;
        }
        let key = p.string()?;
        p.expect(':')?;
        p.skip_ws();
        match key.as_str() {
            "descr" => descr = Some(p.string()?),
            "fortran_order" => fortran_order = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unexpected key {other:?}")),
        }
        p.skip_ws();
        if !p.eat(',') {
            p.expect('}')?;
            break;
        }
    }
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(format!("unexpected text after the dictionary at {}", p.pos));
    }
    Ok(Header {
        descr: descr.ok_or("missing key 'descr'")?,
        fortran_order: fortran_order.ok_or("missing key 'fortran_order'")?,
        shape: shape.ok_or("missing key 'shape'")?,
    })
}

/// A cursor over the header text.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        self.skip_ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected {c:?} at byte {} of {:?}",
                self.pos, self.s
            ))
        }
    }

    /// A single- or double-quoted string without escapes.
    fn string(&mut self) -> Result<String, String> {
        self.skip_ws();
        let quote = match self.rest().chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => {
                return Err(format!(
                    "expected a string at byte {} of {:?}",
                    self.pos, self.s
                ));
            }
        };
        self.pos += 1;
        let len = self
            .rest()
            .find(quote)
            .ok_or_else(|| format!("unterminated string in {:?}", self.s))?;
        let value = self.rest()[..len].to_string();
        self.pos += len + 1;
        Ok(value)
    }

    fn boolean(&mut self) -> Result<bool, String> {
        for (word, value) in [("True", true), ("False", false)] {
            if self.rest().starts_with(word) {
                self.pos += word.len();
                return Ok(value);
            }
        }
        Err(format!(
            "expected True or False at byte {} of {:?}",
            self.pos, self.s
        ))
    }

    /// A tuple of non-negative integers: `()`, `(7,)`, `(5, 101, 100, 4)`.
    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect('(')?;
        let mut dims = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(')') {
                return Ok(dims);
            }
            let digits = self.rest().len()
                - self
                    .rest()
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let dim = self.rest()[..digits].parse().map_err(|_| {
                format!("expected a dimension at byte {} of {:?}", self.pos, self.s)
            })?;
            dims.push(dim);
            self.pos += digits;
            self.skip_ws();
            if !self.eat(',') {
                self.expect(')')?;
                return Ok(dims);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A Python interpreter that can `import numpy`, if any (`python3` may be a pyenv shim
    /// without numpy while the distribution's `/usr/bin/python3` has it).
    fn python_with_numpy() -> Option<&'static str> {
        ["python3", "/usr/bin/python3"].into_iter().find(|python| {
            Command::new(python)
                .args(["-c", "import numpy"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn npy_round_trips_f32_4d_with_nan_bit_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let shape = [2, 3, 4, 5];
        let mut data: Vec<f32> = (0..120).map(|i| i as f32 * 0.125 - 3.0).collect();
        data[7] = f32::NAN;
        data[8] = -0.0;
        data[9] = f32::INFINITY;
        data[10] = f32::from_bits(1); // smallest subnormal
        write_npy(&path, &shape, &data).unwrap();
        let (read_shape, read) = read_npy::<f32>(&path).unwrap();
        assert_eq!(read_shape, shape);
        assert_eq!(bits(&read), bits(&data));
    }

    #[test]
    fn npy_round_trips_f64_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let data = [0.1, -1e300, f64::MIN_POSITIVE, 42.0, f64::NEG_INFINITY, 7.5];
        write_npy(&path, &[3, 2], &data).unwrap();
        let (shape, read) = read_npy::<f64>(&path).unwrap();
        assert_eq!(shape, [3, 2]);
        assert_eq!(read, data);
    }

    #[test]
    fn npy_round_trips_i64_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("y.npy");
        let labels = [0i64, 3, 1, 2, -1, i64::MAX, i64::MIN];
        write_npy(&path, &[labels.len()], &labels).unwrap();
        assert_eq!(read_npy::<i64>(&path).unwrap(), (vec![7], labels.to_vec()));
    }

    #[test]
    fn npy_round_trips_u8_mask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mask.npy");
        let mask: Vec<u8> = (0..=255).collect();
        write_npy(&path, &[16, 16], &mask).unwrap();
        assert_eq!(read_npy::<u8>(&path).unwrap(), (vec![16, 16], mask));
    }

    #[test]
    fn npy_round_trips_scalar_and_empty_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let scalar = dir.path().join("scalar.npy");
        write_npy(&scalar, &[], &[2.5f64]).unwrap();
        assert_eq!(read_npy::<f64>(&scalar).unwrap(), (vec![], vec![2.5]));
        let empty = dir.path().join("empty.npy");
        write_npy::<f32>(&empty, &[0, 4], &[]).unwrap();
        assert_eq!(read_npy::<f32>(&empty).unwrap(), (vec![0, 4], vec![]));
    }

    #[test]
    fn npy_header_matches_numpy_and_pads_data_to_64_bytes() {
        let header = header_bytes("<f4", &[5, 101, 100, 4]);
        assert_eq!(header.len() % 64, 0);
        assert_eq!(&header[..8], b"\x93NUMPY\x01\x00");
        assert_eq!(
            usize::from(u16::from_le_bytes([header[8], header[9]])),
            header.len() - 10
        );
        let text = std::str::from_utf8(&header[10..]).unwrap();
        assert!(text.ends_with('\n'));
        assert_eq!(
            text.trim_end(),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 101, 100, 4), }"
        );
        for shape in [&[][..], &[7], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]] {
            assert_eq!(header_bytes("|u1", shape).len() % 64, 0, "shape {shape:?}");
        }
        let text = String::from_utf8_lossy(&header_bytes("<i8", &[7])).into_owned();
        assert!(text.contains("'shape': (7,), }"), "{text}");
        let text = String::from_utf8_lossy(&header_bytes("<f8", &[])).into_owned();
        assert!(text.contains("'shape': (), }"), "{text}");
    }

    #[test]
    fn npy_reads_the_real_sentinel2_header() {
        // The first 128 bytes of numpy's own s2_B02_B03_B04_B08.npy (5, 101, 100, 4).
        let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 101, 100, 4), }";
        bytes.extend_from_slice(dict.as_bytes());
        bytes.resize(127, b' ');
        bytes.push(b'\n');
        assert_eq!(bytes, header_bytes("<f4", &[5, 101, 100, 4]));
    }

    #[test]
    fn write_rejects_shape_that_does_not_match_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let err = write_npy(&path, &[2, 3], &[1.0f32; 5]).unwrap_err();
        assert!(matches!(
            err,
            NpyError::ShapeMismatch {
                expected: 6,
                len: 5,
                ..
            }
        ));
        assert!(
            err.to_string()
                .contains("shape [2, 3] holds 6 elements but 5 were given")
        );
        assert!(!path.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn rejects_wrong_dtype() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        write_npy(&path, &[2], &[1.0f32, 2.0]).unwrap();
        let err = read_npy::<f64>(&path).unwrap_err();
        assert!(
            matches!(&err, NpyError::WrongDtype { expected: "<f8", found, .. } if found == "<f4")
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert!(
            message.ends_with("dtype is \"<f4\" but \"<f8\" was expected"),
            "{message}"
        );
        assert!(matches!(
            read_npy::<u8>(&path),
            Err(NpyError::WrongDtype { .. })
        ));
        assert!(matches!(
            read_npy::<i64>(&path),
            Err(NpyError::WrongDtype { .. })
        ));
    }

    fn with_header(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut text = dict.to_string();
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn rejects_fortran_order() {
        let bytes = with_header(
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
            &[0; 32],
        );
        let err = parse_npy::<f64>(Path::new("f.npy"), &bytes).unwrap_err();
        assert!(matches!(err, NpyError::FortranOrder { .. }));
        assert!(err.to_string().contains("Fortran order"));
    }

    #[test]
    fn rejects_big_endian_dtype_as_wrong_dtype() {
        let bytes = with_header(
            "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        );
        let err = parse_npy::<f32>(Path::new("be.npy"), &bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "be.npy: dtype is \">f4\" but \"<f4\" was expected"
        );
    }

    #[test]
    fn rejects_bad_magic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        fs::write(&path, b"PK\x03\x04 this is a zip, not npy").unwrap();
        let err = read_npy::<f32>(&path).unwrap_err();
        assert!(matches!(err, NpyError::BadMagic { .. }));
        assert!(
            err.to_string().contains("not a .npy file: bad magic"),
            "{err}"
        );
        let err = parse_npy::<f32>(Path::new("e.npy"), b"").unwrap_err();
        assert!(matches!(err, NpyError::Truncated { .. }), "{err}");
    }

    #[test]
    fn rejects_unsupported_version() {
        let mut bytes = with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        );
        bytes[6] = 9;
        let err = parse_npy::<f32>(Path::new("v.npy"), &bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "v.npy: unsupported .npy format version 9.0"
        );
    }

    #[test]
    fn reads_version_2_headers() {
        let dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
        let mut text = dict.to_string();
        while !(12 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[2, 0]);
        bytes.extend_from_slice(&(text.len() as u32).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(&5i64.to_le_bytes());
        bytes.extend_from_slice(&(-6i64).to_le_bytes());
        assert_eq!(
            parse_npy::<i64>(Path::new("v2.npy"), &bytes).unwrap(),
            (vec![2], vec![5, -6])
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        for dict in [
            "{'descr': '<f4', 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, }",
            "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
            "['descr', '<f4']",
        ] {
            let bytes = with_header(dict, &[0; 4]);
            let err = parse_npy::<f32>(Path::new("h.npy"), &bytes).unwrap_err();
            assert!(matches!(err, NpyError::BadHeader { .. }), "{dict}: {err}");
        }
    }

    #[test]
    fn rejects_truncated_npy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        write_npy(&path, &[3, 4], &[1.5f32; 12]).unwrap();
        let bytes = fs::read(&path).unwrap();
        for len in 0..bytes.len() {
            let err = parse_npy::<f32>(&path, &bytes[..len]).unwrap_err();
            assert!(
                matches!(err, NpyError::Truncated { .. } | NpyError::BadHeader { .. }),
                "prefix of {len} bytes: {err}"
            );
        }
        fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = read_npy::<f32>(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: truncated: shape [3, 4] of <f4 needs 48 data bytes but the file has 45 \
                 after the header",
                path.display()
            )
        );
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = with_header(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }",
            &[1, 2],
        );
        bytes.push(3);
        let err = parse_npy::<u8>(Path::new("t.npy"), &bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.npy: 1 unexpected bytes after the array data"
        );
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let err = read_npy::<f32>(Path::new("/nonexistent/dir/x.npy")).unwrap_err();
        assert!(matches!(err, NpyError::Io { .. }));
        assert!(
            err.to_string().starts_with("/nonexistent/dir/x.npy: "),
            "{err}"
        );
    }

    #[test]
    fn numpy_reads_written_files() {
        let Some(python) = python_with_numpy() else {
            println!("skipped: python3 with numpy not installed");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let x_path = dir.path().join("x.npy");
        let y_path = dir.path().join("y.npy");
        let shape = [2, 3, 5, 4];
        let mut x: Vec<f32> = (0..120).map(|i| i as f32 / 8.0).collect();
        x[17] = f32::NAN;
        write_npy(&x_path, &shape, &x).unwrap();
        let y: Vec<i64> = (0..9).map(|i| i * i - 20).collect();
        write_npy(&y_path, &[9], &y).unwrap();
        let script = "import sys, numpy as np\n\
            x = np.load(sys.argv[1]); y = np.load(sys.argv[2])\n\
            assert x.dtype == np.float32 and x.shape == (2, 3, 5, 4), (x.dtype, x.shape)\n\
            assert x.flags.c_contiguous\n\
            flat = x.reshape(-1)\n\
            assert np.isnan(flat[17]) and np.isnan(x).sum() == 1\n\
            assert flat[16] == 2.0 and x[1, 2, 4, 3] == 119 / 8\n\
            assert y.dtype == np.int64 and y.shape == (9,), (y.dtype, y.shape)\n\
            assert y.tolist() == [i * i - 20 for i in range(9)]\n\
            print('ok', x.dtype, x.shape, y.dtype, y.shape)";
        let out = Command::new(python)
            .args(["-c", script])
            .arg(&x_path)
            .arg(&y_path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "numpy failed: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.trim(), "ok float32 (2, 3, 5, 4) int64 (9,)");
    }

    #[test]
    fn reads_files_written_by_numpy() {
        let Some(python) = python_with_numpy() else {
            println!("skipped: python3 with numpy not installed");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let script = "import sys, os, numpy as np\n\
            d = sys.argv[1]\n\
            np.save(os.path.join(d, 'f4.npy'), np.array([[1.5, np.nan, -2.0]], dtype=np.float32))\n\
            np.save(os.path.join(d, 'f8.npy'), np.linspace(0, 1, 5))\n\
            np.save(os.path.join(d, 'i8.npy'), np.arange(-3, 3, dtype=np.int64).reshape(2, 3))\n\
            np.save(os.path.join(d, 'u1.npy'), np.arange(6, dtype=np.uint8).reshape(1, 2, 3))\n\
            np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(np.ones((2, 3))))\n\
            np.save(os.path.join(d, 'i4.npy'), np.arange(3, dtype=np.int32))";
        let status = Command::new(python)
            .args(["-c", script])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let p = |name: &str| dir.path().join(name);

        let (shape, f4) = read_npy::<f32>(&p("f4.npy")).unwrap();
        assert_eq!(shape, [1, 3]);
        assert_eq!((f4[0], f4[2]), (1.5, -2.0));
        assert!(f4[1].is_nan());
        let (shape, f8) = read_npy::<f64>(&p("f8.npy")).unwrap();
        assert_eq!((shape, f8), (vec![5], vec![0.0, 0.25, 0.5, 0.75, 1.0]));
        assert_eq!(
            read_npy::<i64>(&p("i8.npy")).unwrap(),
            (vec![2, 3], vec![-3, -2, -1, 0, 1, 2])
        );
        assert_eq!(
            read_npy::<u8>(&p("u1.npy")).unwrap(),
            (vec![1, 2, 3], vec![0, 1, 2, 3, 4, 5])
        );
        assert!(matches!(
            read_npy::<f64>(&p("fortran.npy")),
            Err(NpyError::FortranOrder { .. })
        ));
        let err = read_npy::<i64>(&p("i4.npy")).unwrap_err();
        assert!(
            err.to_string()
                .contains("dtype is \"<i4\" but \"<i8\" was expected"),
            "{err}"
        );
    }

    #[test]
    fn reads_real_sentinel2_arrays() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real-s2");
        if !root.is_dir() {
            println!("skipped: ../shared/data/real-s2 not found");
            return;
        }
        for (site, shape) in [
            ("bouconne-2018", [7, 246, 227, 4]),
            ("slovenia-eolearn", [5, 101, 100, 4]),
        ] {
            let (read_shape, data) =
                read_npy::<f32>(&root.join(site).join("s2_B02_B03_B04_B08.npy")).unwrap();
            assert_eq!(read_shape, shape, "{site}");
            assert_eq!(data.len(), shape.iter().product::<usize>());
            let finite = data.iter().filter(|v| v.is_finite()).count();
            assert!(
                finite > data.len() / 2,
                "{site}: only {finite} finite values"
            );
            assert!(
                data.iter()
                    .filter(|v| v.is_finite())
                    .all(|&v| (-0.5..=2.0).contains(&v)),
                "{site}: reflectances out of range"
            );
        }
        // The uint8 LULC labels of the Slovenian patch, as a second dtype.
        let (shape, lulc) = read_npy::<u8>(&root.join("slovenia-eolearn/lulc.npy")).unwrap();
        assert_eq!(shape, [101, 100]);
        assert!(lulc.iter().all(|&c| c <= 10));
    }
}
