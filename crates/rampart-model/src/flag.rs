//! Flags: kinds, variants, rules, serves (a variant or a split), prerequisites.
//!
//! [`FlagSpec`] is plain data, as users write it. [`Flag`] is a spec that passed
//! [`Flag::try_new`]; the rest of Rampart only ever handles validated flags.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::TOTAL_WEIGHT;
use crate::condition::{Condition, type_name};
use crate::error::{ErrorCode, Result, ValidationError};
use crate::key::check_key;

/// Variant name → value, in the order written.
pub type VariantMap = IndexMap<String, Value>;

/// Variant name → weight in basis points, in bucketing order.
pub type SplitWeights = IndexMap<String, u32>;

/// The type every variant value of a flag has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FlagKind {
    Boolean,
    String,
    Number,
    Object,
}

impl FlagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::Boolean => "boolean",
            FlagKind::String => "string",
            FlagKind::Number => "number",
            FlagKind::Object => "object",
        }
    }

    pub fn accepts(self, value: &Value) -> bool {
        match self {
            FlagKind::Boolean => value.is_boolean(),
            FlagKind::String => value.is_string(),
            FlagKind::Number => value.is_number(),
            FlagKind::Object => value.is_object(),
        }
    }
}

/// `disabled` is the kill switch: evaluation serves the default variant with reason DISABLED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FlagState {
    #[default]
    Enabled,
    Disabled,
}

impl FlagState {
    pub fn is_enabled(self) -> bool {
        self == FlagState::Enabled
    }
}

/// What a rule or the fallthrough serves: one variant, or a split over variants.
///
/// Split weights are basis points in an ordered map (`{on: 500, off: 9500}`); the order is
/// the bucketing order, so it is preserved through JSON and YAML.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Serve {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<HashMap<String, u32>>))]
    pub split: Option<SplitWeights>,
    /// The context attribute to bucket by; `targetingKey` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_by: Option<String>,
    /// The hash salt; the flag key when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// A shadow split (dark launch): not served, but each evaluation reports the variant
    /// this split would pick as `shadowVariant` metadata. Rollouts set it in shadow steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<HashMap<String, u32>>))]
    pub shadow: Option<SplitWeights>,
}

impl Serve {
    pub fn variant(name: impl Into<String>) -> Self {
        Serve {
            variant: Some(name.into()),
            ..Serve::default()
        }
    }

    pub fn split<K: Into<String>>(weights: impl IntoIterator<Item = (K, u32)>) -> Self {
        Serve {
            split: Some(weights.into_iter().map(|(k, w)| (k.into(), w)).collect()),
            ..Serve::default()
        }
    }

    fn validate(&self, variants: &VariantMap) -> Result<()> {
        match (&self.variant, &self.split) {
            (Some(_), Some(_)) => Err(ValidationError::new(
                ErrorCode::Conflict,
                "split",
                "serve either a `variant` or a `split`, not both",
            )),
            (None, None) => Err(ValidationError::new(
                ErrorCode::Required,
                "variant",
                "serve needs a `variant` or a `split`",
            )),
            (Some(variant), None) => {
                if self.shadow.is_none() && (self.bucket_by.is_some() || self.salt.is_some()) {
                    return Err(ValidationError::new(
                        ErrorCode::Conflict,
                        if self.bucket_by.is_some() {
                            "bucket_by"
                        } else {
                            "salt"
                        },
                        "`bucket_by` and `salt` only apply to a `split` or a `shadow` split",
                    ));
                }
                check_variant_exists("variant", variant, variants)?;
                self.validate_shadow(variants)
            }
            (None, Some(split)) => {
                check_weights("split", split, variants)?;
                self.validate_shadow(variants)
            }
        }
    }

    fn validate_shadow(&self, variants: &VariantMap) -> Result<()> {
        if let Some(bucket_by) = &self.bucket_by
            && bucket_by.is_empty()
        {
            return Err(ValidationError::new(
                ErrorCode::Required,
                "bucket_by",
                "`bucket_by` is empty; omit it to bucket by targetingKey",
            ));
        }
        match &self.shadow {
            Some(shadow) => check_weights("shadow", shadow, variants),
            None => Ok(()),
        }
    }
}

/// Weights in basis points over known variants, summing to exactly 10 000.
fn check_weights(
    field: &str,
    weights: &IndexMap<String, u32>,
    variants: &VariantMap,
) -> Result<()> {
    if weights.is_empty() {
        return Err(ValidationError::new(
            ErrorCode::InvalidWeights,
            field,
            format!("a {field} needs at least one variant"),
        ));
    }
    let mut total: u64 = 0;
    for (variant, weight) in weights {
        let path = format!("{field}.{variant}");
        check_variant_exists(&path, variant, variants)?;
        if *weight > TOTAL_WEIGHT {
            return Err(ValidationError::new(
                ErrorCode::InvalidWeights,
                path,
                format!("weight {weight} is above {TOTAL_WEIGHT} basis points"),
            ));
        }
        total += u64::from(*weight);
    }
    if total != u64::from(TOTAL_WEIGHT) {
        return Err(ValidationError::new(
            ErrorCode::InvalidWeights,
            field,
            format!(
                "weights sum to {total} basis points; they must sum to exactly {TOTAL_WEIGHT} (100%)"
            ),
        ));
    }
    Ok(())
}

fn check_variant_exists(field: &str, variant: &str, variants: &VariantMap) -> Result<()> {
    if variants.contains_key(variant) {
        return Ok(());
    }
    let known = variants
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    Err(ValidationError::new(
        ErrorCode::UnknownVariant,
        field,
        format!("unknown variant `{variant}`; the flag's variants are: {known}"),
    ))
}

/// An ordered targeting rule: when every condition holds, serve.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// All conditions must hold. An empty list matches every context.
    #[serde(default)]
    pub when: Vec<Condition>,
    pub serve: Serve,
}

/// Another flag that must evaluate to `variant` before this flag's rules apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prerequisite {
    pub flag: String,
    pub variant: String,
}

/// A flag as written by users: plain data, not yet validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagSpec {
    pub key: String,
    pub kind: FlagKind,
    /// Variant name → value; every value has the flag's kind.
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, Value>))]
    pub variants: VariantMap,
    pub default_variant: String,
    #[serde(default)]
    pub state: FlagState,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// What to serve when no rule matches; the default variant when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallthrough: Option<Serve>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<Prerequisite>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl FlagSpec {
    /// A boolean flag with variants `on`/`off`, defaulting to `off`.
    pub fn boolean(key: impl Into<String>) -> Self {
        FlagSpec {
            key: key.into(),
            kind: FlagKind::Boolean,
            variants: IndexMap::from([
                ("on".to_owned(), Value::Bool(true)),
                ("off".to_owned(), Value::Bool(false)),
            ]),
            default_variant: "off".to_owned(),
            state: FlagState::Enabled,
            rules: Vec::new(),
            fallthrough: None,
            prerequisites: Vec::new(),
            tags: Vec::new(),
            owner: None,
            description: None,
        }
    }

    /// Every check that needs only this flag. Cross-references (segments, prerequisites)
    /// are checked by [`crate::Catalog::check_flag`].
    pub fn validate(&self) -> Result<()> {
        check_key("key", "flag key", &self.key)?;
        if self.variants.is_empty() {
            return Err(ValidationError::new(
                ErrorCode::Required,
                "variants",
                "a flag needs at least one variant",
            ));
        }
        for (name, value) in &self.variants {
            let field = format!("variants.{name}");
            check_key(&field, "variant name", name)?;
            if !self.kind.accepts(value) {
                return Err(ValidationError::new(
                    ErrorCode::WrongKind,
                    field,
                    format!(
                        "a {} flag needs {} values, got {}",
                        self.kind.as_str(),
                        self.kind.as_str(),
                        type_name(value)
                    ),
                ));
            }
        }
        check_variant_exists("default_variant", &self.default_variant, &self.variants)?;
        for (i, rule) in self.rules.iter().enumerate() {
            let rule_field = format!("rules[{i}]");
            for (j, condition) in rule.when.iter().enumerate() {
                condition
                    .validate()
                    .map_err(|e| e.within(&format!("{rule_field}.when[{j}]")))?;
            }
            rule.serve
                .validate(&self.variants)
                .map_err(|e| e.within(&format!("{rule_field}.serve")))?;
        }
        if let Some(fallthrough) = &self.fallthrough {
            fallthrough
                .validate(&self.variants)
                .map_err(|e| e.within("fallthrough"))?;
        }
        for (i, prerequisite) in self.prerequisites.iter().enumerate() {
            let field = format!("prerequisites[{i}]");
            check_key(
                &format!("{field}.flag"),
                "prerequisite flag key",
                &prerequisite.flag,
            )?;
            if prerequisite.flag == self.key {
                return Err(ValidationError::new(
                    ErrorCode::PrerequisiteCycle,
                    format!("{field}.flag"),
                    format!("flag `{}` cannot be its own prerequisite", self.key),
                ));
            }
            if prerequisite.variant.is_empty() {
                return Err(ValidationError::new(
                    ErrorCode::Required,
                    format!("{field}.variant"),
                    "prerequisite variant is empty",
                ));
            }
        }
        for (i, tag) in self.tags.iter().enumerate() {
            if tag.trim().is_empty() {
                return Err(ValidationError::new(
                    ErrorCode::Required,
                    format!("tags[{i}]"),
                    "tag is empty",
                ));
            }
        }
        Ok(())
    }

    /// The segment names this flag's rules reference, with the field path of each reference.
    pub fn segment_references(&self) -> impl Iterator<Item = (String, &str)> {
        self.rules.iter().enumerate().flat_map(|(i, rule)| {
            rule.when
                .iter()
                .enumerate()
                .filter_map(move |(j, condition)| {
                    condition
                        .segment
                        .as_deref()
                        .map(|name| (format!("rules[{i}].when[{j}].segment"), name))
                })
        })
    }
}

/// A validated flag. Construct with [`Flag::try_new`]; read with [`Flag::spec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FlagSpec", into = "FlagSpec")]
pub struct Flag(FlagSpec);

impl Flag {
    pub fn try_new(spec: FlagSpec) -> Result<Flag> {
        spec.validate()?;
        Ok(Flag(spec))
    }

    pub fn spec(&self) -> &FlagSpec {
        &self.0
    }

    pub fn into_spec(self) -> FlagSpec {
        self.0
    }

    pub fn key(&self) -> &str {
        &self.0.key
    }

    /// The same flag with another state; the kill switch. Always valid.
    pub fn with_state(mut self, state: FlagState) -> Flag {
        self.0.state = state;
        self
    }
}

impl TryFrom<FlagSpec> for Flag {
    type Error = ValidationError;

    fn try_from(spec: FlagSpec) -> Result<Flag> {
        Flag::try_new(spec)
    }
}

impl From<Flag> for FlagSpec {
    fn from(flag: Flag) -> FlagSpec {
        flag.0
    }
}
