//! A small little-endian binary format for fitted states and models.
//!
//! Floats are written as their IEEE-754 bits, so every f64 round-trips
//! exactly, NaN payloads included. Each blob opens with a 4-byte tag chosen
//! by the plugin and a format version, so bytes from another plugin (or an
//! older version) are refused with a clear error instead of misread.
//!
//! ```
//! use sluice_sdk::codec::{ByteReader, ByteWriter};
//!
//! let mut w = ByteWriter::new(*b"DEMO", 1);
//! w.str("mean_radius");
//! w.f64s(&[0.1, 1e-300]);
//! let bytes = w.finish();
//!
//! let mut r = ByteReader::new(&bytes, *b"DEMO", 1).unwrap();
//! assert_eq!(r.str().unwrap(), "mean_radius");
//! assert_eq!(r.f64s().unwrap(), vec![0.1, 1e-300]);
//! r.finish().unwrap();
//! ```

use crate::StepError;

/// Writes values into a byte vector.
#[derive(Debug, Clone)]
pub struct ByteWriter {
    buf: Vec<u8>,
}

impl ByteWriter {
    /// Starts a blob with a 4-byte tag and a format version.
    pub fn new(tag: [u8; 4], version: u8) -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&tag);
        buf.push(version);
        ByteWriter { buf }
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Appends a bool as one byte, 0 or 1.
    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// Appends 8 bytes, little-endian.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends 8 bytes, little-endian two's complement.
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends the 8 bytes of the value's IEEE-754 bits, so it reads back bit
    /// for bit.
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    /// A length, written as u64.
    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }

    /// Appends a length, then the string's UTF-8 bytes.
    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// Appends a length, then each float as by [`ByteWriter::f64`].
    pub fn f64s(&mut self, v: &[f64]) {
        self.len(v.len());
        self.buf.reserve(v.len() * 8);
        for &x in v {
            self.f64(x);
        }
    }

    /// Appends a length, then each integer.
    pub fn i64s(&mut self, v: &[i64]) {
        self.len(v.len());
        for &x in v {
            self.i64(x);
        }
    }

    /// Appends a length, then one byte per bool.
    pub fn bools(&mut self, v: &[bool]) {
        self.len(v.len());
        for &x in v {
            self.bool(x);
        }
    }

    /// Appends a length, then each string as by [`ByteWriter::str`].
    pub fn strs<S: AsRef<str>>(&mut self, v: &[S]) {
        self.len(v.len());
        for s in v {
            self.str(s.as_ref());
        }
    }

    /// The blob: tag, version and everything written, in order.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads values back in the order they were written. Every error is an
/// invalid-input [`StepError`] saying the bytes are not a valid blob.
#[derive(Debug, Clone)]
pub struct ByteReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    /// Checks the tag and the version, then reads from just after them.
    pub fn new(bytes: &'a [u8], tag: [u8; 4], version: u8) -> Result<Self, StepError> {
        let tag_text = String::from_utf8_lossy(&tag).into_owned();
        if bytes.len() < 5 || bytes[..4] != tag {
            return Err(StepError::invalid_input(format!(
                "these bytes are not a {tag_text} blob (wrong plugin, or corrupted)"
            )));
        }
        if bytes[4] != version {
            return Err(StepError::invalid_input(format!(
                "{tag_text} blob has format version {}, this plugin reads version {version}",
                bytes[4]
            )));
        }
        Ok(ByteReader { bytes, pos: 5 })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StepError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                StepError::invalid_input(format!(
                    "truncated blob: wanted {n} bytes at offset {} of {}",
                    self.pos,
                    self.bytes.len()
                ))
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StepError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads one byte; an error if the blob ends first.
    pub fn u8(&mut self) -> Result<u8, StepError> {
        Ok(self.take(1)?[0])
    }

    /// Reads a bool; a byte other than 0 or 1 is a corrupt blob.
    pub fn bool(&mut self) -> Result<bool, StepError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(StepError::invalid_input(format!(
                "corrupt blob: {b} is not a bool at offset {}",
                self.pos - 1
            ))),
        }
    }

    /// Reads 8 little-endian bytes.
    pub fn u64(&mut self) -> Result<u64, StepError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads 8 little-endian bytes as two's complement.
    pub fn i64(&mut self) -> Result<i64, StepError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// Reads a float from its IEEE-754 bits (NaN payloads included).
    pub fn f64(&mut self) -> Result<f64, StepError> {
        Ok(f64::from_bits(u64::from_le_bytes(self.array()?)))
    }

    /// A length, checked against the bytes left (each item takes at least
    /// `min_item_size` bytes), so a corrupt length cannot allocate wildly.
    fn len(&mut self, min_item_size: usize) -> Result<usize, StepError> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n.saturating_mul(min_item_size as u64) > left {
            return Err(StepError::invalid_input(format!(
                "corrupt blob: length {n} at offset {} exceeds the {left} bytes left",
                self.pos - 8
            )));
        }
        Ok(n as usize)
    }

    /// Reads a length and that many bytes; an error if they are not UTF-8.
    pub fn str(&mut self) -> Result<String, StepError> {
        let n = self.len(1)?;
        let raw = self.take(n)?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| StepError::invalid_input("corrupt blob: a string is not UTF-8"))
    }

    /// Reads what [`ByteWriter::f64s`] wrote. A length longer than the bytes
    /// left is an error before anything is allocated.
    pub fn f64s(&mut self) -> Result<Vec<f64>, StepError> {
        let n = self.len(8)?;
        (0..n).map(|_| self.f64()).collect()
    }

    /// Reads what [`ByteWriter::i64s`] wrote.
    pub fn i64s(&mut self) -> Result<Vec<i64>, StepError> {
        let n = self.len(8)?;
        (0..n).map(|_| self.i64()).collect()
    }

    /// Reads what [`ByteWriter::bools`] wrote.
    pub fn bools(&mut self) -> Result<Vec<bool>, StepError> {
        let n = self.len(1)?;
        (0..n).map(|_| self.bool()).collect()
    }

    /// Reads what [`ByteWriter::strs`] wrote.
    pub fn strs(&mut self) -> Result<Vec<String>, StepError> {
        let n = self.len(8)?;
        (0..n).map(|_| self.str()).collect()
    }

    /// Checks that every byte was read.
    pub fn finish(self) -> Result<(), StepError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(StepError::invalid_input(format!(
                "corrupt blob: {} trailing bytes",
                self.bytes.len() - self.pos
            )))
        }
    }
}

/// Writes with `write` into a blob, reads it back with `read` and checks
/// that every byte was read: a round trip through the codec, for tests.
#[cfg(test)]
pub(crate) fn round_trip<T>(
    write: impl FnOnce(&mut ByteWriter),
    read: impl FnOnce(&mut ByteReader<'_>) -> Result<T, StepError>,
) -> T {
    let mut w = ByteWriter::new(*b"TEST", 1);
    write(&mut w);
    let bytes = w.finish();
    let mut r = ByteReader::new(&bytes, *b"TEST", 1).unwrap();
    let value = read(&mut r).unwrap();
    r.finish().unwrap();
    value
}

/// The links of a binary tree stored as node arrays, checked:
/// `feature[i] < 0` marks a leaf; a split node's feature is below
/// `n_features` and its children come after it (so every walk ends).
#[derive(Debug, Clone, PartialEq)]
pub struct TreeLinks {
    /// `None` for a leaf.
    pub feature: Vec<Option<usize>>,
    /// 0 for a leaf.
    pub left: Vec<usize>,
    /// The right child's node index; 0 for a leaf.
    pub right: Vec<usize>,
}

impl TreeLinks {
    /// Checks the arrays read back from a model (all of one length), or an
    /// invalid-input error `"corrupt <model> model: ..."`.
    pub fn check(
        feature: &[i64],
        left: &[i64],
        right: &[i64],
        n_features: usize,
        model: &str,
    ) -> Result<TreeLinks, StepError> {
        let corrupt =
            |what: &str| StepError::invalid_input(format!("corrupt {model} model: {what}"));
        let nodes = feature.len();
        if [left.len(), right.len()] != [nodes; 2] {
            return Err(corrupt("node arrays differ in length"));
        }
        let child = |i: usize, c: i64| {
            usize::try_from(c)
                .ok()
                .filter(|&c| c > i && c < nodes)
                .ok_or_else(|| corrupt("child index out of range"))
        };
        let mut links = TreeLinks {
            feature: Vec::with_capacity(nodes),
            left: vec![0; nodes],
            right: vec![0; nodes],
        };
        for (i, &f) in feature.iter().enumerate() {
            if f < 0 {
                links.feature.push(None);
                continue;
            }
            let f = usize::try_from(f)
                .ok()
                .filter(|&f| f < n_features)
                .ok_or_else(|| corrupt("feature index out of range"))?;
            links.feature.push(Some(f));
            links.left[i] = child(i, left[i])?;
            links.right[i] = child(i, right[i])?;
        }
        Ok(links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exactly() {
        let floats = [
            0.1,
            -0.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::INFINITY,
        ];
        let mut w = ByteWriter::new(*b"TEST", 3);
        w.u8(7);
        w.bool(true);
        w.i64(-5);
        w.u64(u64::MAX);
        w.f64s(&floats);
        w.f64(f64::NAN);
        w.i64s(&[1, -1]);
        w.bools(&[true, false]);
        w.strs(&["a", "βγ", ""]);
        let bytes = w.finish();

        let mut r = ByteReader::new(&bytes, *b"TEST", 3).unwrap();
        assert_eq!(r.u8().unwrap(), 7);
        assert!(r.bool().unwrap());
        assert_eq!(r.i64().unwrap(), -5);
        assert_eq!(r.u64().unwrap(), u64::MAX);
        let back = r.f64s().unwrap();
        for (a, b) in floats.iter().zip(&back) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        assert!(r.f64().unwrap().is_nan());
        assert_eq!(r.i64s().unwrap(), vec![1, -1]);
        assert_eq!(r.bools().unwrap(), vec![true, false]);
        assert_eq!(r.strs().unwrap(), vec!["a", "βγ", ""]);
        r.finish().unwrap();
    }

    #[test]
    fn refuses_foreign_truncated_and_corrupt_bytes() {
        let mut w = ByteWriter::new(*b"TEST", 1);
        w.f64s(&[1.0, 2.0]);
        let bytes = w.finish();
        assert!(ByteReader::new(&bytes, *b"OTHR", 1).is_err());
        assert!(ByteReader::new(&bytes, *b"TEST", 2).is_err());
        assert!(ByteReader::new(&[], *b"TEST", 1).is_err());
        let mut r = ByteReader::new(&bytes[..bytes.len() - 1], *b"TEST", 1).unwrap();
        assert!(r.f64s().is_err());
        let mut huge = ByteWriter::new(*b"TEST", 1);
        huge.u64(u64::MAX);
        let huge = huge.finish();
        let mut r = ByteReader::new(&huge, *b"TEST", 1).unwrap();
        assert!(r.f64s().is_err());
        let r = ByteReader::new(&bytes, *b"TEST", 1).unwrap();
        assert!(r.finish().is_err());
    }
}
