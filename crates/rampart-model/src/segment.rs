//! Segments: named, reusable sets of conditions such as `internal`, `beta` or `region-eu`.

use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::error::{ErrorCode, Result, ValidationError};
use crate::key::check_key;

/// A segment as written by users. A context is in the segment when all conditions hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub conditions: Vec<Condition>,
}

impl SegmentSpec {
    pub fn validate(&self) -> Result<()> {
        check_key("name", "segment name", &self.name)?;
        if self.conditions.is_empty() {
            return Err(ValidationError::new(
                ErrorCode::Required,
                "conditions",
                "a segment needs at least one condition",
            ));
        }
        for (i, condition) in self.conditions.iter().enumerate() {
            let field = format!("conditions[{i}]");
            // Segments may not nest: it keeps membership a flat, cycle-free check.
            if condition.segment.is_some() {
                return Err(ValidationError::new(
                    ErrorCode::InvalidCondition,
                    format!("{field}.segment"),
                    "segments cannot reference other segments; list the conditions instead",
                ));
            }
            condition.validate().map_err(|e| e.within(&field))?;
        }
        Ok(())
    }
}

/// A validated segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SegmentSpec", into = "SegmentSpec")]
pub struct Segment(SegmentSpec);

impl Segment {
    pub fn try_new(spec: SegmentSpec) -> Result<Segment> {
        spec.validate()?;
        Ok(Segment(spec))
    }

    pub fn spec(&self) -> &SegmentSpec {
        &self.0
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn into_spec(self) -> SegmentSpec {
        self.0
    }
}

impl TryFrom<SegmentSpec> for Segment {
    type Error = ValidationError;

    fn try_from(spec: SegmentSpec) -> Result<Segment> {
        Segment::try_new(spec)
    }
}

impl From<Segment> for SegmentSpec {
    fn from(segment: Segment) -> SegmentSpec {
        segment.0
    }
}
