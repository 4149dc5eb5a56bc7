//! Bundles: several frames of one key in one network sample (`docs/protocol.md` §1.5).
//!
//! A network library spends about as much on each sample it routes as SAFEthing spends on
//! signing and checking a batched frame, so a device's signer sends the frames of a batch
//! that follow one another on the same key as one sample. A bundle is only a container:
//! every frame in it is checked alone, exactly as if it had come in a sample of its own
//! (the key it is checked against is the sample's), and order is kept. The transport marks a
//! sample as a bundle out of band (Zenoh: by its encoding), so that a payload that merely
//! starts like one is never split.
//!
//! ```text
//! "SB" 0x02 count(u16be) { len(u32be) frame }×count
//! ```

use std::ops::Range;

use bytes::Bytes;

/// The two bytes every bundle starts with (a frame starts with `"ST"`).
pub const MAGIC: [u8; 2] = *b"SB";
/// The most frames one bundle carries.
pub const MAX_FRAMES: usize = 1024;
/// The size a sender keeps its bundles below: far below a Zenoh batch (64 KiB), so a bundle is
/// never fragmented, and small enough that a receiver starts on a batch's first frames while
/// the rest are on the way (bundles of 8, 16, 32 and 60 KiB measured: 16 KiB was fastest).
pub const TARGET_BYTES: usize = 16 * 1024;

const HEADER: usize = MAGIC.len() + 1 + 2;

/// Whether `payload` starts like a bundle (the bytes only: what marks a sample as a bundle is
/// the transport's, see the module documentation).
pub fn is_bundle(payload: &[u8]) -> bool {
    payload.starts_with(&MAGIC)
}

/// Why bytes are not a bundle this runtime accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// A bundle of another protocol version.
    #[error("unsupported bundle version {0} (this runtime speaks version 2)")]
    UnsupportedVersion(u8),
    /// Not a bundle, or one that breaks the layout.
    #[error("malformed bundle: {0}")]
    Malformed(&'static str),
}

/// The bytes of a bundle of `frames` (1 to [`MAX_FRAMES`], each below 4 GiB); `None`
/// otherwise.
pub fn encode<F: AsRef<[u8]>>(frames: &[F]) -> Option<Vec<u8>> {
    if frames.is_empty() || frames.len() > MAX_FRAMES {
        return None;
    }
    let count = u16::try_from(frames.len()).ok()?;
    let size = HEADER + frames.iter().map(|f| 4 + f.as_ref().len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&MAGIC);
    out.push(crate::frame::VERSION);
    out.extend_from_slice(&count.to_be_bytes());
    for frame in frames {
        let frame = frame.as_ref();
        out.extend_from_slice(&u32::try_from(frame.len()).ok()?.to_be_bytes());
        out.extend_from_slice(frame);
    }
    Some(out)
}

/// The frames of a bundle, as slices of `payload` (no copy). All or nothing: a bundle that
/// breaks the layout anywhere yields no frame.
pub fn split(payload: &Bytes) -> Result<Vec<Bytes>, BundleError> {
    Ok(ranges(payload)?
        .into_iter()
        .map(|r| payload.slice(r))
        .collect())
}

/// [`split`] on borrowed bytes.
pub fn frames(payload: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    Ok(ranges(payload)?
        .into_iter()
        .filter_map(|r| payload.get(r))
        .collect())
}

/// Where each frame of a bundle lies in `payload`.
fn ranges(payload: &[u8]) -> Result<Vec<Range<usize>>, BundleError> {
    let malformed = BundleError::Malformed;
    let rest = payload
        .strip_prefix(&MAGIC)
        .ok_or(malformed("does not start with \"SB\""))?;
    let (&version, rest) = rest.split_first().ok_or(malformed("no version"))?;
    if version != crate::frame::VERSION {
        return Err(BundleError::UnsupportedVersion(version));
    }
    let count = rest
        .first_chunk::<2>()
        .map(|c| usize::from(u16::from_be_bytes(*c)))
        .ok_or(malformed("no frame count"))?;
    if count == 0 || count > MAX_FRAMES {
        return Err(malformed("frame count not within 1..=1024"));
    }
    let mut frames = Vec::with_capacity(count);
    let mut at = HEADER;
    for _ in 0..count {
        let len = payload
            .get(at..)
            .and_then(|r| r.first_chunk::<4>())
            .and_then(|c| usize::try_from(u32::from_be_bytes(*c)).ok())
            .ok_or(malformed("a frame length is cut short"))?;
        let start = at + 4;
        let end = start
            .checked_add(len)
            .filter(|&end| len > 0 && end <= payload.len())
            .ok_or(malformed("a frame is empty or longer than the bundle"))?;
        frames.push(start..end);
        at = end;
    }
    if at != payload.len() {
        return Err(malformed("bytes after the last frame"));
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: usize) -> Vec<Bytes> {
        (0..n)
            .map(|i| Bytes::from(format!("ST frame {i}").into_bytes()))
            .collect()
    }

    #[test]
    fn frames_come_out_as_they_went_in() {
        for n in [1, 2, 7, MAX_FRAMES] {
            let f = frames(n);
            let bundle = Bytes::from(encode(&f).unwrap());
            assert!(is_bundle(&bundle));
            assert_eq!(split(&bundle).unwrap(), f);
        }
        assert!(encode::<Bytes>(&[]).is_none());
        assert!(encode(&frames(MAX_FRAMES + 1)).is_none());
        assert!(!is_bundle(b"ST\x02"));
    }

    #[test]
    fn attack_malformed_bundles_yield_no_frame() {
        let good = encode(&frames(3)).unwrap();
        // Every truncation, and every extension.
        for cut in 0..good.len() {
            assert!(
                split(&Bytes::copy_from_slice(&good[..cut])).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(split(&Bytes::from(longer)).is_err());
        // A count above the bound, a zero count, a zero length, a length past the end.
        let mut n = good.clone();
        n[3..5].copy_from_slice(&u16::MAX.to_be_bytes());
        assert!(split(&Bytes::from(n)).is_err());
        let mut zero = good.clone();
        zero[3..5].copy_from_slice(&0u16.to_be_bytes());
        assert!(split(&Bytes::from(zero)).is_err());
        let mut empty = good.clone();
        empty[5..9].copy_from_slice(&0u32.to_be_bytes());
        assert!(split(&Bytes::from(empty)).is_err());
        let mut past = good.clone();
        past[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(split(&Bytes::from(past)).is_err());
        let mut version = good;
        version[2] = 1;
        assert_eq!(
            split(&Bytes::from(version)),
            Err(BundleError::UnsupportedVersion(1))
        );
    }
}
