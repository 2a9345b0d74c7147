//! The flags-as-code file: `{flags: [...], segments: [...]}` in YAML or JSON.
//!
//! [`from_text`] reads any such file (documents, rollout plans): JSON strictly through
//! [`crate::json`], YAML with duplicate keys refused.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_saphyr::options::DuplicateKeyPolicy;

use crate::error::{ErrorCode, Result, ValidationError};
use crate::flag::{Flag, FlagSpec};
use crate::segment::{Segment, SegmentSpec};

/// A document of flags and segments, as `rampart apply -f` reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    #[serde(default)]
    pub segments: Vec<SegmentSpec>,
    #[serde(default)]
    pub flags: Vec<FlagSpec>,
}

impl Document {
    /// Parses a document written in YAML or JSON; see [`from_text`].
    pub fn from_yaml(text: &str) -> Result<Document> {
        from_text(text)
    }

    pub fn to_yaml(&self) -> Result<String> {
        serde_saphyr::to_string(self).map_err(|e| {
            ValidationError::new(ErrorCode::Parse, "", format!("cannot write YAML: {e}"))
        })
    }

    /// Validates every entry on its own; field paths are `flags[i]...` / `segments[i]...`.
    /// Cross-references are checked against the target catalog by the caller.
    pub fn validate(&self) -> Result<(Vec<Flag>, Vec<Segment>)> {
        let segments = self
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Segment::try_new(s.clone()).map_err(|e| e.within(&format!("segments[{i}]")))
            })
            .collect::<Result<Vec<_>>>()?;
        let flags = self
            .flags
            .iter()
            .enumerate()
            .map(|(i, f)| Flag::try_new(f.clone()).map_err(|e| e.within(&format!("flags[{i}]"))))
            .collect::<Result<Vec<_>>>()?;
        for (i, flag) in flags.iter().enumerate() {
            if flags[..i].iter().any(|f| f.key() == flag.key()) {
                return Err(ValidationError::new(
                    ErrorCode::Conflict,
                    format!("flags[{i}].key"),
                    format!("flag `{}` appears twice", flag.key()),
                ));
            }
        }
        for (i, segment) in segments.iter().enumerate() {
            if segments[..i].iter().any(|s| s.name() == segment.name()) {
                return Err(ValidationError::new(
                    ErrorCode::Conflict,
                    format!("segments[{i}].name"),
                    format!("segment `{}` appears twice", segment.name()),
                ));
            }
        }
        Ok((flags, segments))
    }
}

/// Parses a file people write, in JSON or YAML. Text that starts like JSON (`{` or `[`) and
/// is JSON is read by [`crate::json::from_str`]: a wrong type, an array for an object or a
/// duplicate key is an error with the field's path. Anything else is YAML (a flow mapping
/// such as `{flags: []}` starts like JSON but is not), where a duplicate key is refused too
/// (`DUPLICATE_KEY`, with its line and column; YAML errors have no field path).
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T> {
    if text.trim_start().starts_with(['{', '[']) {
        match crate::json::from_str(text) {
            Err(error) if error.code() == ErrorCode::Parse => {}
            parsed => return parsed,
        }
    }
    // Refusing duplicates is serde-saphyr's default; it is stated so a change of default
    // can't quietly merge them.
    let options = serde_saphyr::options! { duplicate_keys: DuplicateKeyPolicy::Error };
    serde_saphyr::from_str_with_options(text, options).map_err(|error| {
        let code = match &error {
            serde_saphyr::Error::DuplicateMappingKey { .. } => ErrorCode::DuplicateKey,
            serde_saphyr::Error::WithSnippet { error, .. }
                if matches!(**error, serde_saphyr::Error::DuplicateMappingKey { .. }) =>
            {
                ErrorCode::DuplicateKey
            }
            _ => ErrorCode::Parse,
        };
        ValidationError::new(code, "", format!("cannot parse document: {error}"))
    })
}
