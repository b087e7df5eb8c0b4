//! What a `-e` edit did to one file, as its recording keeps it: the path,
//! the SHA-256 of the content before and after, and both contents while
//! they fit below the recording's cap (the hashes alone past it).

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{base64_decode, base64_encode};

/// One edited file. `None` for "before": the file did not exist; for
/// "after": the editor left it unchanged, so nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    /// The file's path, as the caller named it.
    pub path: Vec<u8>,
    /// SHA-256 (hex) of the content before the edit.
    pub before_sha256: Option<String>,
    /// SHA-256 (hex) of the content written.
    pub after_sha256: Option<String>,
    /// The content before, unless the cap left it out.
    pub before: Option<Vec<u8>>,
    /// The content written, unless the cap left it out.
    pub after: Option<Vec<u8>>,
}

impl FileEdit {
    /// The edit of `path` from `before` to `after`, contents included.
    pub fn new(path: &[u8], before: Option<&[u8]>, after: Option<&[u8]>) -> FileEdit {
        FileEdit {
            path: path.to_vec(),
            before_sha256: before.map(sha256),
            after_sha256: after.map(sha256),
            before: before.map(<[u8]>::to_vec),
            after: after.map(<[u8]>::to_vec),
        }
    }

    /// The same edit with the hashes only.
    pub fn without_content(&self) -> FileEdit {
        FileEdit {
            before: None,
            after: None,
            ..self.clone()
        }
    }

    /// Whether the edit wrote the file.
    pub fn changed(&self) -> bool {
        self.after_sha256.is_some()
    }

    /// Bytes of content it carries.
    pub(super) fn content_len(&self) -> u64 {
        [&self.before, &self.after]
            .into_iter()
            .flatten()
            .map(|c| c.len() as u64)
            .sum()
    }

    pub(super) fn to_json(&self) -> Value {
        let mut fields = Map::new();
        fields.insert("path".into(), json!(base64_encode(&self.path)));
        let hashes = [
            ("before_sha256", &self.before_sha256),
            ("after_sha256", &self.after_sha256),
        ];
        for (key, hash) in hashes {
            if let Some(hash) = hash {
                fields.insert(key.into(), json!(hash));
            }
        }
        for (key, content) in [("before", &self.before), ("after", &self.after)] {
            if let Some(content) = content {
                fields.insert(key.into(), json!(base64_encode(content)));
            }
        }
        Value::Object(fields)
    }

    pub(super) fn from_json(value: &Value) -> Option<FileEdit> {
        let text = |key: &str| value.get(key).and_then(Value::as_str);
        let bytes = |key: &str| text(key).map(base64_decode);
        Some(FileEdit {
            path: base64_decode(text("path")?)?,
            before_sha256: text("before_sha256").map(str::to_owned),
            after_sha256: text("after_sha256").map(str::to_owned),
            before: bytes("before").map_or(Some(None), |b| b.map(Some))?,
            after: bytes("after").map_or(Some(None), |b| b.map(Some))?,
        })
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
