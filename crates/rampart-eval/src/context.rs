//! The evaluation context: an optional targeting key plus named JSON attributes.

use rampart_model::condition::type_name;
use serde_json::Value;

/// The attribute name that always refers to the targeting key (OpenFeature's spelling).
pub const TARGETING_KEY: &str = "targetingKey";

/// What an evaluation knows about its subject.
///
/// Attributes are kept sorted by a hash of their name. Conditions carry the hash of the
/// name they read, computed once at compile time, so finding an attribute is a binary
/// search over integers plus one string comparison, not a string comparison per probe.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// Always a `Value::String` when set, so [`Context::attribute`] can lend it out.
    targeting_key: Option<Value>,
    /// Sorted by `(hash, name)`; names are unique.
    attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq)]
struct Attribute {
    hash: u64,
    name: String,
    value: Value,
}

impl Context {
    pub fn new(targeting_key: Option<String>) -> Context {
        Context {
            targeting_key: targeting_key.map(Value::String),
            attributes: Vec::new(),
        }
    }

    /// The context with one more attribute, replacing any of the same name. Setting
    /// `targetingKey` to a string sets the targeting key, as in [`Context::from_json`]; any
    /// other value is kept as an ordinary attribute, visible only while there is no key.
    pub fn with(mut self, attribute: impl Into<String>, value: Value) -> Context {
        let name = attribute.into();
        if name == TARGETING_KEY && value.is_string() {
            self.targeting_key = Some(value);
            return self;
        }
        let hash = name_hash(&name);
        match self
            .attributes
            .binary_search_by(|a| (a.hash, a.name.as_str()).cmp(&(hash, name.as_str())))
        {
            Ok(index) => {
                if let Some(slot) = self.attributes.get_mut(index) {
                    slot.value = value;
                }
            }
            Err(index) => self
                .attributes
                .insert(index, Attribute { hash, name, value }),
        }
        self
    }

    /// Reads an OFREP / OpenFeature context object. `targetingKey`, when present, must be a
    /// string; every other member becomes an attribute.
    pub fn from_json(value: Value) -> Result<Context, ContextError> {
        let Value::Object(members) = value else {
            return Err(ContextError {
                kind: ContextErrorKind::NotAnObject {
                    found: type_name(&value),
                },
            });
        };
        let mut targeting_key = None;
        let mut attributes = Vec::with_capacity(members.len());
        for (name, member) in members {
            if name == TARGETING_KEY {
                if !member.is_string() {
                    let found = type_name(&member);
                    return Err(ContextError {
                        kind: ContextErrorKind::TargetingKeyNotString { found },
                    });
                }
                targeting_key = Some(member);
            } else {
                attributes.push(Attribute {
                    hash: name_hash(&name),
                    name,
                    value: member,
                });
            }
        }
        // JSON object keys are already unique, so sorting is all the invariant needs.
        attributes.sort_unstable_by(|a, b| (a.hash, &a.name).cmp(&(b.hash, &b.name)));
        Ok(Context {
            targeting_key,
            attributes,
        })
    }

    pub fn targeting_key(&self) -> Option<&str> {
        self.targeting_key.as_ref().and_then(Value::as_str)
    }

    /// The attribute called `name`. `targetingKey` is the targeting key. When no attribute
    /// has exactly this name and it contains dots, it is read as a path into nested objects:
    /// `user.plan` is member `plan` of the object attribute `user`.
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        self.lookup(&AttributeName::borrowed(name))
    }

    /// [`Context::attribute`] with the name's hash and shape worked out in advance.
    #[inline]
    pub(crate) fn lookup(&self, name: &AttributeName<&str>) -> Option<&Value> {
        if name.is_targeting_key
            && let Some(key) = &self.targeting_key
        {
            return Some(key);
        }
        if let Some(value) = self.top_level(name.hash, name.text) {
            return Some(value);
        }
        if !name.is_dotted {
            return None;
        }
        let mut segments = name.text.split('.');
        let first = segments.next()?;
        let mut current = self.top_level(name_hash(first), first)?;
        for segment in segments {
            current = current.as_object()?.get(segment)?;
        }
        Some(current)
    }

    #[inline]
    fn top_level(&self, hash: u64, name: &str) -> Option<&Value> {
        let start = self.attributes.partition_point(|a| a.hash < hash);
        // Equal hashes are adjacent; a 64-bit collision between names is not expected, but
        // is handled by comparing the names themselves.
        self.attributes
            .get(start..)?
            .iter()
            .take_while(|a| a.hash == hash)
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }
}

/// An attribute name prepared for lookups: its hash, and whether it is the targeting key
/// or a dotted path. Compiled conditions and splits keep one per attribute they read.
#[derive(Debug, Clone)]
pub(crate) struct AttributeName<S> {
    pub text: S,
    hash: u64,
    is_targeting_key: bool,
    is_dotted: bool,
}

impl<'a> AttributeName<&'a str> {
    fn borrowed(text: &'a str) -> Self {
        AttributeName {
            hash: name_hash(text),
            is_targeting_key: text == TARGETING_KEY,
            is_dotted: text.contains('.'),
            text,
        }
    }
}

impl AttributeName<String> {
    pub fn new(text: String) -> Self {
        let AttributeName {
            hash,
            is_targeting_key,
            is_dotted,
            ..
        } = AttributeName::borrowed(&text);
        AttributeName {
            text,
            hash,
            is_targeting_key,
            is_dotted,
        }
    }

    #[inline]
    pub fn as_ref(&self) -> AttributeName<&str> {
        AttributeName {
            text: self.text.as_str(),
            hash: self.hash,
            is_targeting_key: self.is_targeting_key,
            is_dotted: self.is_dotted,
        }
    }
}

/// 64-bit FNV-1a: fast on the short names attributes have, and stable across runs.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Why a JSON value is not a valid evaluation context; maps to `INVALID_CONTEXT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ContextError {
    kind: ContextErrorKind,
}

impl ContextError {
    /// The OpenFeature error code this maps to.
    pub fn error_code(&self) -> crate::ErrorCode {
        crate::ErrorCode::InvalidContext
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum ContextErrorKind {
    #[error("the evaluation context must be a JSON object, got {found}")]
    NotAnObject { found: &'static str },
    #[error("`targetingKey` must be a string, got {found}")]
    TargetingKeyNotString { found: &'static str },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error_of(value: Value) -> String {
        Context::from_json(value).unwrap_err().to_string()
    }

    #[test]
    fn from_json_rejects_non_objects() {
        assert_eq!(
            error_of(json!([1, 2])),
            "the evaluation context must be a JSON object, got an array"
        );
        assert_eq!(
            error_of(json!("user-1")),
            "the evaluation context must be a JSON object, got a string"
        );
        assert_eq!(
            error_of(json!(null)),
            "the evaluation context must be a JSON object, got null"
        );
        assert_eq!(
            error_of(json!(7)),
            "the evaluation context must be a JSON object, got a number"
        );
    }

    #[test]
    fn from_json_rejects_a_non_string_targeting_key() {
        assert_eq!(
            error_of(json!({"targetingKey": 42})),
            "`targetingKey` must be a string, got a number"
        );
        assert_eq!(
            error_of(json!({"targetingKey": null})),
            "`targetingKey` must be a string, got null"
        );
        assert_eq!(
            error_of(json!({"targetingKey": {"id": "u"}})),
            "`targetingKey` must be a string, got an object"
        );
        let error = Context::from_json(json!({"targetingKey": true})).unwrap_err();
        assert_eq!(error.error_code(), crate::ErrorCode::InvalidContext);
    }

    #[test]
    fn from_json_reads_key_and_attributes() {
        let context =
            Context::from_json(json!({"targetingKey": "u1", "plan": "pro", "age": 30})).unwrap();
        assert_eq!(context.targeting_key(), Some("u1"));
        assert_eq!(context.attribute("targetingKey"), Some(&json!("u1")));
        assert_eq!(context.attribute("plan"), Some(&json!("pro")));
        assert_eq!(context.attribute("age"), Some(&json!(30)));
        assert_eq!(context.attribute("missing"), None);
        let keyless = Context::from_json(json!({})).unwrap();
        assert_eq!(keyless.targeting_key(), None);
        assert_eq!(keyless.attribute("targetingKey"), None);
    }

    #[test]
    fn dotted_paths_reach_nested_objects_unless_an_exact_key_exists() {
        let context = Context::from_json(json!({
            "user": {"plan": "pro", "org": {"id": 7}},
            "a.b": "exact",
            "a": {"b": "nested"},
        }))
        .unwrap();
        assert_eq!(context.attribute("user.plan"), Some(&json!("pro")));
        assert_eq!(context.attribute("user.org.id"), Some(&json!(7)));
        assert_eq!(context.attribute("a.b"), Some(&json!("exact")));
        assert_eq!(context.attribute("user.nope"), None);
        assert_eq!(context.attribute("user.plan.deeper"), None);
        assert_eq!(context.attribute("."), None);
    }

    #[test]
    fn with_replaces_and_sets_the_key() {
        let context = Context::new(None)
            .with("b", json!(1))
            .with("a", json!(2))
            .with("b", json!(3))
            .with("targetingKey", json!("k"));
        assert_eq!(context.targeting_key(), Some("k"));
        assert_eq!(context.attribute("a"), Some(&json!(2)));
        assert_eq!(context.attribute("b"), Some(&json!(3)));
        assert_eq!(
            context,
            Context::from_json(json!({"a": 2, "b": 3, "targetingKey": "k"})).unwrap()
        );
    }

    #[test]
    fn every_attribute_of_a_large_context_is_found() {
        let names: Vec<String> = (0..300).map(|i| format!("attr_{i}")).collect();
        let context = names
            .iter()
            .rev()
            .fold(Context::new(None), |context, name| {
                context.with(name.clone(), json!(name))
            });
        for name in &names {
            assert_eq!(context.attribute(name), Some(&json!(name)), "{name}");
        }
        assert_eq!(context.attribute("attr_300"), None);
        let forward = names.iter().fold(Context::new(None), |context, name| {
            context.with(name.clone(), json!(name))
        });
        assert_eq!(forward, context);
    }
}
