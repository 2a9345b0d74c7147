//! Compiled conditions, and whether a context satisfies them.

mod operator;

use rampart_model::Condition;
use serde_json::Value;

use crate::compiled::CompiledSegment;
use crate::context::{AttributeName, Context};
use operator::Op;

/// One compiled condition.
#[derive(Debug)]
pub(crate) enum Test {
    /// `attribute op values`, with the values pre-parsed for the operator.
    Attribute {
        attribute: AttributeName<String>,
        op: Op,
        negate: bool,
    },
    /// `segment: NAME`, resolved to the segment's index in the snapshot.
    Segment { index: usize, negate: bool },
    /// A condition that cannot be satisfied: an unknown segment, a malformed shape, or a
    /// segment inside a segment. Validation rejects all of these; this keeps a broken
    /// catalog from opting anyone in, even when negated.
    Never,
}

impl Test {
    /// Compiles a condition. `segment_names` is sorted; a segment reference resolves to its
    /// position there. Segments' own conditions compile with no names, so a (forbidden)
    /// nested segment reference becomes [`Test::Never`] and membership cannot recurse.
    pub fn compile(condition: &Condition, segment_names: &[&str]) -> Test {
        let negate = condition.negate;
        match (&condition.segment, &condition.attribute, condition.op) {
            (Some(name), None, None) => match segment_names.binary_search(&name.as_str()) {
                Ok(index) => Test::Segment { index, negate },
                Err(_) => Test::Never,
            },
            (None, Some(attribute), Some(op)) => Test::Attribute {
                attribute: AttributeName::new(attribute.clone()),
                op: Op::compile(op, &condition.values),
                negate,
            },
            _ => Test::Never,
        }
    }

    /// Whether the condition holds. A missing or `null` attribute, or one the operator
    /// cannot read, never holds, whatever `negate` says.
    #[inline]
    pub fn holds(&self, context: &Context, segments: &[CompiledSegment]) -> bool {
        match self {
            Test::Attribute {
                attribute,
                op,
                negate,
            } => match context.lookup(&attribute.as_ref()) {
                None | Some(Value::Null) => false,
                Some(value) => op.apply(value).is_some_and(|matched| matched != *negate),
            },
            Test::Segment { index, negate } => {
                let member = segments.get(*index).is_some_and(|segment| {
                    // Segment conditions are attribute tests only, so no segments are passed.
                    segment
                        .conditions
                        .iter()
                        .all(|test| test.holds(context, &[]))
                });
                member != *negate
            }
            Test::Never => false,
        }
    }
}

/// Whether every test holds; an empty list always does.
#[inline]
pub(crate) fn all_hold(tests: &[Test], context: &Context, segments: &[CompiledSegment]) -> bool {
    tests.iter().all(|test| test.holds(context, segments))
}
