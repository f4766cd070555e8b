//! NumPy `.npy` files for `f32`, `f64`, `i64` and `u8` arrays, through the `npyz` crate.
//!
//! Arrays are C-ordered (row-major) and little-endian: dtypes `'<f4'`, `'<f8'`, `'<i8'` and
//! `'|u1'`. Files are written through the one atomic writer (temporary file, fsync, rename).
//! Reading streams the file once into the array: no copy of the file's bytes is held beside
//! it, and the header's shape is checked against the file's size before anything is
//! allocated, so a hostile header cannot ask for terabytes. The reader accepts format versions
//! 1.0 to 3.0 and refuses Fortran-ordered arrays, other dtypes, bad magic, truncated data and
//! trailing bytes with a specific [`NpyError`].

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use npyz::{NpyFile, Order, WriterBuilder};

use crate::atomic_file::{self, Access};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

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
pub trait NpyElement:
    Copy + npyz::Deserialize + npyz::Serialize + npyz::AutoSerialize + sealed::Sealed
{
    /// The NumPy dtype string, e.g. `<f4`.
    const DESCR: &'static str;
    /// Bytes per element.
    const SIZE: usize = std::mem::size_of::<Self>();
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
}
impl NpyElement for f64 {
    const DESCR: &'static str = "<f8";
}
impl NpyElement for i64 {
    const DESCR: &'static str = "<i8";
}
impl NpyElement for u8 {
    const DESCR: &'static str = "|u1";
}

/// Writes `data` with `shape` (C order) to `path` as `.npy`, atomically.
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
    let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    atomic_file::write_with(path, Access::Shared, |file| {
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut writer = npyz::WriteOptions::<T>::new()
            .default_dtype()
            .shape(&dims)
            .writer(&mut out)
            .begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()?;
        out.flush()
    })
    .map_err(|source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a `.npy` file of element type `T`; returns its shape and its data in C order.
pub fn read_npy<T: NpyElement>(path: &Path) -> Result<(Vec<usize>, Vec<T>), NpyError> {
    let io_error = |source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    read_from(path, BufReader::with_capacity(1 << 16, file), file_len)
}

/// Reads an array of `T` from `reader`, a `.npy` file of `file_len` bytes; `path` is used in
/// error messages.
fn read_from<T: NpyElement, R: BufRead + Seek>(
    path: &Path,
    mut reader: R,
    file_len: u64,
) -> Result<(Vec<usize>, Vec<T>), NpyError> {
    let truncated = |detail: String| NpyError::Truncated {
        path: path.to_path_buf(),
        detail,
    };
    let bad_header = |detail: String| NpyError::BadHeader {
        path: path.to_path_buf(),
        detail,
    };
    let io_error = |source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    };
    check_preamble(path, &mut reader, file_len)?;

    // npyz parses the header dictionary; the checks around it are ours, so that each
    // problem gets its own error.
    let npy = NpyFile::new(&mut reader).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => truncated(format!(
            "the header does not end within the file's {file_len} bytes"
        )),
        // npyz's parse errors draw the header with a caret below: the first line says it.
        _ => bad_header(
            e.to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .into(),
        ),
    })?;
    let found = match npy.dtype() {
        npyz::DType::Plain(type_str) => type_str.to_string(),
        other => other.descr(),
    };
    if found != T::DESCR {
        return Err(NpyError::WrongDtype {
            path: path.to_path_buf(),
            expected: T::DESCR,
            found,
        });
    }
    if npy.order() == Order::Fortran {
        return Err(NpyError::FortranOrder {
            path: path.to_path_buf(),
        });
    }
    let shape = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| bad_header(format!("shape {:?} is too large", npy.shape())))?;
    let data_len = shape
        .iter()
        .try_fold(T::SIZE, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad_header(format!("shape {shape:?} is too large")))?
        as u64;
    let header = npy.header().clone();
    let data_start = reader.stream_position().map_err(io_error)?;
    let available = file_len.saturating_sub(data_start);
    if available < data_len {
        return Err(truncated(format!(
            "shape {shape:?} of {} needs {data_len} data bytes but the file has {available} \
             after the header",
            T::DESCR
        )));
    }
    if available > data_len {
        return Err(NpyError::TrailingBytes {
            path: path.to_path_buf(),
            extra: (available - data_len) as usize,
        });
    }
    let data = NpyFile::with_header(header, &mut reader)
        .into_vec::<T>()
        .map_err(|e| match e.kind() {
            // The file shrank while it was read.
            io::ErrorKind::UnexpectedEof => truncated(format!("the data ends early: {e}")),
            _ => io_error(e),
        })?;
    // Nothing may follow the data (a file that grew while it was read).
    if reader.read(&mut [0u8; 1]).map_err(io_error)? != 0 {
        return Err(NpyError::TrailingBytes {
            path: path.to_path_buf(),
            extra: 1,
        });
    }
    Ok((shape, data))
}

/// Refuses what is not a `.npy` file of a known version before the header is parsed, so that
/// these get errors of their own: the magic, the version, a file shorter than its preamble.
fn check_preamble(path: &Path, reader: &mut impl BufRead, file_len: u64) -> Result<(), NpyError> {
    let start = reader.fill_buf().map_err(|source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let head = &start[..start.len().min(12)];
    if !head.starts_with(&MAGIC[..head.len().min(MAGIC.len())]) {
        return Err(NpyError::BadMagic {
            path: path.to_path_buf(),
            found: head[..head.len().min(MAGIC.len())].to_vec(),
        });
    }
    let needed = match head.get(6) {
        Some(2 | 3) => 12,
        _ => 10,
    };
    if file_len < needed || head.len() < needed as usize {
        return Err(NpyError::Truncated {
            path: path.to_path_buf(),
            detail: format!("the file has {file_len} bytes, a .npy preamble needs {needed}"),
        });
    }
    let (major, minor) = (head[6], head[7]);
    if !matches!((major, minor), (1..=3, 0)) {
        return Err(NpyError::UnsupportedVersion {
            path: path.to_path_buf(),
            major,
            minor,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
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

    /// The magic, version, header length and header text of a written file, and the offset of
    /// its data.
    fn written_header(shape: &[usize]) -> (Vec<u8>, String, usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.npy");
        let len = shape.iter().product::<usize>();
        write_npy(&path, shape, &vec![0u8; len]).unwrap();
        let bytes = fs::read(&path).unwrap();
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        let text = String::from_utf8(bytes[10..10 + header_len].to_vec()).unwrap();
        (bytes[..8].to_vec(), text, 10 + header_len)
    }

    #[test]
    fn written_headers_are_numpy_v1_with_aligned_data() {
        for shape in [
            &[][..],
            &[7],
            &[5, 101, 100, 4],
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        ] {
            let (preamble, text, data_start) = written_header(shape);
            assert_eq!(preamble, b"\x93NUMPY\x01\x00", "shape {shape:?}");
            assert!(
                data_start.is_multiple_of(16),
                "shape {shape:?}: data at {data_start}"
            );
            assert!(text.ends_with('\n'), "{text}");
            assert!(text.contains("'descr': '|u1'"), "{text}");
            assert!(text.contains("'fortran_order': False"), "{text}");
        }
        // npyz writes a tuple's last comma with a space after it: `(7, )`.
        assert!(written_header(&[7]).1.contains("'shape': (7, )"));
        assert!(written_header(&[]).1.contains("'shape': ()"));
        assert!(
            written_header(&[5, 101, 100, 4])
                .1
                .contains("'shape': (5, 101, 100, 4, )")
        );
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

    /// Reads `.npy` bytes as if they were the file `path`.
    fn parse_npy<T: NpyElement>(
        path: &Path,
        bytes: &[u8],
    ) -> Result<(Vec<usize>, Vec<T>), NpyError> {
        read_from(path, io::Cursor::new(bytes), bytes.len() as u64)
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
            "['descr', '<f4']",
        ] {
            let bytes = with_header(dict, &[0; 4]);
            let err = parse_npy::<f32>(Path::new("h.npy"), &bytes).unwrap_err();
            assert!(matches!(err, NpyError::BadHeader { .. }), "{dict}: {err}");
            assert_eq!(err.to_string().lines().count(), 1, "{err}");
        }
        // numpy refuses a key it does not know; npyz ignores it, and so do we: the three keys
        // that say how to read the data are all there.
        let extra = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}";
        let bytes = with_header(extra, &[0; 4]);
        assert_eq!(
            parse_npy::<f32>(Path::new("x.npy"), &bytes).unwrap(),
            (vec![1], vec![0.0])
        );
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
    fn refuses_a_header_that_claims_more_data_than_the_file_holds_before_allocating() {
        // 10^12 float32 values would be 4 TB: the size check must come before any allocation.
        let bytes = with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }",
            &[0; 16],
        );
        let err = parse_npy::<f32>(Path::new("huge.npy"), &bytes).unwrap_err();
        assert!(matches!(err, NpyError::Truncated { .. }), "{err}");
        assert!(
            err.to_string().contains("needs 4000000000000 data bytes"),
            "{err}"
        );
        let overflow = with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 4), }",
            &[0; 16],
        );
        let err = parse_npy::<f32>(Path::new("overflow.npy"), &overflow).unwrap_err();
        assert!(matches!(err, NpyError::BadHeader { .. }), "{err}");
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
