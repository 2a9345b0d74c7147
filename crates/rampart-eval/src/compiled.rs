//! The compiled form of a catalog: flags and segments with names resolved to indices.
//!
//! Compilation never fails. Flags are validated, but a catalog from `Catalog::recover` may
//! hold references that don't resolve (a missing segment, prerequisite flag or variant);
//! each fallback here is chosen so a broken reference can only ever serve the default
//! variant or match nobody.

use rampart_model::flag::SplitWeights;
use rampart_model::{Catalog, Flag, FlagState, Serve};
use serde_json::Value;

use crate::condition::Test;
use crate::context::AttributeName;

/// A flag ready to evaluate. Variant references are indices into `variants`.
#[derive(Debug)]
pub(crate) struct CompiledFlag {
    pub key: String,
    pub variants: Vec<(String, Value)>,
    pub default_variant: usize,
    pub enabled: bool,
    pub prerequisites: Vec<CompiledPrerequisite>,
    pub rules: Vec<CompiledRule>,
    pub fallthrough: CompiledServe,
    /// No rules and no prerequisites: a fallthrough variant is served with reason STATIC.
    pub is_static: bool,
}

#[derive(Debug)]
pub(crate) struct CompiledPrerequisite {
    pub key: String,
    /// The prerequisite flag's index in the snapshot; `None` if it does not exist.
    pub flag: Option<usize>,
    /// The required variant's index in that flag; `None` if it has no such variant.
    pub variant: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub when: Vec<Test>,
    pub serve: CompiledServe,
}

/// What a rule or fallthrough serves, plus an optional shadow split that is computed for
/// metadata only (a dark launch).
#[derive(Debug)]
pub(crate) struct CompiledServe {
    pub primary: Primary,
    pub shadow: Option<CompiledSplit>,
}

#[derive(Debug)]
pub(crate) enum Primary {
    Variant(usize),
    Split(CompiledSplit),
}

impl CompiledServe {
    pub fn variant(variant: usize) -> CompiledServe {
        CompiledServe {
            primary: Primary::Variant(variant),
            shadow: None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct CompiledSplit {
    /// The context attribute to bucket by (`targetingKey` unless configured).
    pub bucket_by: AttributeName<String>,
    pub salt: String,
    /// In split order: each variant with the cumulative weight up to and including it.
    pub slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub cumulative: u32,
    pub variant: usize,
}

impl CompiledSplit {
    /// The first variant whose cumulative weight exceeds the bucket.
    pub fn pick(&self, bucket: u32) -> Option<usize> {
        self.slots
            .iter()
            .find(|slot| slot.cumulative > bucket)
            .map(|slot| slot.variant)
    }
}

/// A segment: membership means every condition holds.
#[derive(Debug)]
pub(crate) struct CompiledSegment {
    pub conditions: Vec<Test>,
}

/// Compiles every segment and flag. Flags come out sorted by key, which is the catalog's
/// order, so lookups can binary-search.
pub(crate) fn compile(catalog: &Catalog) -> (Vec<CompiledFlag>, Vec<CompiledSegment>) {
    let segment_names: Vec<&str> = catalog.segments().keys().map(String::as_str).collect();
    let segments = catalog
        .segments()
        .values()
        .map(|segment| CompiledSegment {
            conditions: segment
                .spec()
                .conditions
                .iter()
                .map(|c| Test::compile(c, &[]))
                .collect(),
        })
        .collect();
    let flag_keys: Vec<&str> = catalog.flags().keys().map(String::as_str).collect();
    let flags = catalog
        .flags()
        .values()
        .map(|flag| compile_flag(flag, catalog, &flag_keys, &segment_names))
        .collect();
    (flags, segments)
}

fn compile_flag(
    flag: &Flag,
    catalog: &Catalog,
    flag_keys: &[&str],
    segment_names: &[&str],
) -> CompiledFlag {
    let spec = flag.spec();
    let variants: Vec<(String, Value)> = spec
        .variants
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let default_variant = spec
        .variants
        .get_index_of(&spec.default_variant)
        .unwrap_or(0);
    let variant_index = |name: &str| spec.variants.get_index_of(name).unwrap_or(default_variant);
    let compile_serve =
        |serve: &Serve| compile_serve(serve, &spec.key, default_variant, &variant_index);
    let prerequisites = spec
        .prerequisites
        .iter()
        .map(|prerequisite| CompiledPrerequisite {
            key: prerequisite.flag.clone(),
            flag: flag_keys.binary_search(&prerequisite.flag.as_str()).ok(),
            variant: catalog
                .flag(&prerequisite.flag)
                .and_then(|target| target.spec().variants.get_index_of(&prerequisite.variant)),
        })
        .collect::<Vec<_>>();
    let rules = spec
        .rules
        .iter()
        .map(|rule| CompiledRule {
            when: rule
                .when
                .iter()
                .map(|c| Test::compile(c, segment_names))
                .collect(),
            serve: compile_serve(&rule.serve),
        })
        .collect::<Vec<_>>();
    let fallthrough = match &spec.fallthrough {
        Some(serve) => compile_serve(serve),
        None => CompiledServe::variant(default_variant),
    };
    CompiledFlag {
        key: spec.key.clone(),
        variants,
        default_variant,
        enabled: spec.state == FlagState::Enabled,
        is_static: rules.is_empty() && prerequisites.is_empty(),
        prerequisites,
        rules,
        fallthrough,
    }
}

fn compile_serve(
    serve: &Serve,
    flag_key: &str,
    default_variant: usize,
    variant_index: &dyn Fn(&str) -> usize,
) -> CompiledServe {
    let split = |weights: &SplitWeights| compile_split(serve, weights, flag_key, variant_index);
    let primary = match &serve.split {
        Some(weights) => Primary::Split(split(weights)),
        None => Primary::Variant(
            serve
                .variant
                .as_deref()
                .map_or(default_variant, variant_index),
        ),
    };
    CompiledServe {
        primary,
        shadow: serve.shadow.as_ref().map(split),
    }
}

fn compile_split(
    serve: &Serve,
    weights: &SplitWeights,
    flag_key: &str,
    variant_index: &dyn Fn(&str) -> usize,
) -> CompiledSplit {
    let mut cumulative: u32 = 0;
    let slots = weights
        .iter()
        .map(|(name, weight)| {
            cumulative = cumulative.saturating_add(*weight);
            Slot {
                cumulative,
                variant: variant_index(name),
            }
        })
        .collect();
    CompiledSplit {
        bucket_by: AttributeName::new(
            serve
                .bucket_by
                .clone()
                .unwrap_or_else(|| crate::context::TARGETING_KEY.to_owned()),
        ),
        salt: serve.salt.clone().unwrap_or_else(|| flag_key.to_owned()),
        slots,
    }
}
