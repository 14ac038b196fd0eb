//! The name of an artifact: the sha256 of its bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::ArtifactError;

/// The sha256 of an artifact's bytes; shown as 64 lowercase hex characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArtifactDigest([u8; 32]);

impl ArtifactDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The digest of the bytes of `pieces`, one after the other: the
    /// digest of an artifact held in pieces (as Parquet is encoded, or a
    /// file read), equal to [`ArtifactDigest::of`] of the whole.
    pub fn of_pieces<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut hasher = Sha256::new();
        for piece in pieces {
            hasher.update(piece);
        }
        Self(hasher.finalize().into())
    }

    /// The digest whose 32 bytes are `bytes` (a sha256 computed elsewhere).
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 lowercase hex characters, optionally prefixed by `sha256:`.
    pub fn parse(text: &str) -> Result<Self, ArtifactError> {
        let invalid = |reason| ArtifactError::InvalidDigest {
            input: text.to_owned(),
            reason,
        };
        let hex_part = text.strip_prefix("sha256:").unwrap_or(text);
        if hex_part.len() != 64 {
            return Err(invalid("wrong length"));
        }
        if !hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid("not lowercase hex"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| invalid("not lowercase hex"))?;
        Ok(Self(bytes))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64-character hex form (same as `to_string`).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ArtifactDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ArtifactDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArtifactDigest({self})")
    }
}

impl FromStr for ArtifactDigest {
    type Err = ArtifactError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for ArtifactDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ArtifactDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn digest_of_known_input() {
        let digest = ArtifactDigest::of(b"abc");
        assert_eq!(digest.to_string(), ABC);
        assert_eq!(format!("{digest:?}"), format!("ArtifactDigest({ABC})"));
    }

    #[test]
    fn parse_accepts_prefix_and_rejects_junk() {
        let digest = ArtifactDigest::of(b"abc");
        assert_eq!(ArtifactDigest::parse(ABC).unwrap(), digest);
        assert_eq!(
            ArtifactDigest::parse(&format!("sha256:{ABC}")).unwrap(),
            digest
        );
        assert!(ArtifactDigest::parse(&ABC.to_uppercase()).is_err());
        assert!(ArtifactDigest::parse(&ABC[1..]).is_err());
        let err = ArtifactDigest::parse(&format!("{}g", &ABC[1..])).unwrap_err();
        assert!(err.to_string().contains("not lowercase hex"), "{err}");
    }

    #[test]
    fn serde_uses_hex() {
        let digest = ArtifactDigest::of(b"abc");
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{ABC}\""));
        assert_eq!(
            serde_json::from_str::<ArtifactDigest>(&json).unwrap(),
            digest
        );
    }
}
