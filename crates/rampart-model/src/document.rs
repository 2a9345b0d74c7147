//! The flags-as-code file: `{flags: [...], segments: [...]}` in YAML or JSON.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, Result, ValidationError};
use crate::flag::{Flag, FlagSpec};
use crate::segment::{Segment, SegmentSpec};

/// A document of flags and segments, as `rampart apply -f` reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default)]
    pub segments: Vec<SegmentSpec>,
    #[serde(default)]
    pub flags: Vec<FlagSpec>,
}

impl Document {
    /// Parses YAML (a superset of JSON, so JSON documents parse too).
    pub fn from_yaml(text: &str) -> Result<Document> {
        serde_saphyr::from_str(text).map_err(|e| {
            ValidationError::new(ErrorCode::Parse, "", format!("cannot parse document: {e}"))
        })
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
