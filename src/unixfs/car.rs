//! CARv1 framing shared by the CAR export/import model and the backends: the header, one
//! `varint | cid | data` frame per block, and reading frames back from a spooled file.
//! Parsing untrusted uploads is `iroh-car`'s job (`models::car`); this module only writes
//! frames and reads back files this process wrote.

use crate::backend::BackendError;
use bytes::Bytes;
use cid::Cid;
use std::io::Read;

/// `varint(len(cid) + len(data)) | cid | data`
pub fn frame(cid: &Cid, data: &[u8]) -> Bytes {
    let cid_bytes = cid.to_bytes();
    let mut len_buf = unsigned_varint::encode::usize_buffer();
    let len = unsigned_varint::encode::usize(cid_bytes.len() + data.len(), &mut len_buf);
    let mut out = Vec::with_capacity(len.len() + cid_bytes.len() + data.len());
    out.extend_from_slice(len);
    out.extend_from_slice(&cid_bytes);
    out.extend_from_slice(data);
    Bytes::from(out)
}

/// The length-prefixed CARv1 header naming `roots`.
pub fn header(roots: Vec<Cid>) -> Result<Bytes, BackendError> {
    let encoded = iroh_car::CarHeader::new_v1(roots)
        .encode()
        .map_err(|e| BackendError::Internal(format!("encoding a CAR header: {e}")))?;
    let mut len_buf = unsigned_varint::encode::usize_buffer();
    let len = unsigned_varint::encode::usize(encoded.len(), &mut len_buf);
    Ok(Bytes::from([len, &encoded[..]].concat()))
}

/// One length-prefixed section; `None` at a clean end.
fn section(r: &mut impl Read) -> Result<Option<Vec<u8>>, BackendError> {
    let len = match unsigned_varint::io::read_usize(&mut *r) {
        Ok(n) => n,
        Err(unsigned_varint::io::ReadError::Io(e))
            if e.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            return Ok(None);
        }
        Err(e) => return Err(BackendError::Storage(format!("reading a CAR file: {e}"))),
    };
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// Skips the header of a CAR this process wrote.
pub fn skip_header(r: &mut impl Read) -> Result<(), BackendError> {
    section(r)?
        .map(|_| ())
        .ok_or_else(|| BackendError::Storage("an empty CAR file".into()))
}

/// Reads the next block frame of a CAR this process wrote.
pub fn read_frame(r: &mut impl Read) -> Result<Option<(Cid, Bytes)>, BackendError> {
    let Some(buf) = section(r)? else {
        return Ok(None);
    };
    let mut cursor = std::io::Cursor::new(&buf);
    let cid = Cid::read_bytes(&mut cursor)
        .map_err(|e| BackendError::Storage(format!("reading a CAR file: {e}")))?;
    let at = cursor.position() as usize;
    Ok(Some((cid, Bytes::from(buf).slice(at..))))
}
