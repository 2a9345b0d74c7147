//! A `Deserializer` adaptor that makes any self-describing deserializer strict.
//!
//! It wraps the deserializer and, recursively, every visitor, seed, sequence, map and enum
//! access it hands out, changing three things:
//! - a struct is read as a map (`deserialize_struct` → `deserialize_map`), so an array in
//!   place of an object is a wrong type instead of a positional struct;
//! - every map checks its keys: the second occurrence of a key is an error, noted in
//!   [`State`] so the caller can tell this error from the others;
//! - an enum is read with `deserialize_any`: a string names a unit variant, a one-key
//!   object an externally tagged one, and anything else is a wrong type ("invalid type:
//!   integer `5`, expected one of `a`, `b`") instead of serde_json's syntax-category
//!   "expected value".
//!
//! Everything else is forwarded unchanged, so serde_path_to_error can wrap the adaptor and
//! track paths through it.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer, StringDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Expected, IgnoredAny, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

/// What one parse found out besides its result: whether its error is a duplicate key.
#[derive(Debug, Default)]
pub(super) struct State {
    pub duplicate: Cell<bool>,
}

/// The strict deserializer: `inner` with the rules above.
pub(super) struct Strict<'s, D> {
    inner: D,
    state: &'s State,
}

impl<'s, D> Strict<'s, D> {
    pub fn new(inner: D, state: &'s State) -> Self {
        Strict { inner, state }
    }
}

/// Forwards `deserialize_*` methods to `inner`, wrapping the visitor.
macro_rules! forward_wrapped {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.inner.$method($($arg,)* Wrap { inner: visitor, state: self.state })
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<'_, D> {
    type Error = D::Error;

    forward_wrapped! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_option(), deserialize_unit(), deserialize_seq(), deserialize_map(),
        deserialize_identifier(), deserialize_ignored_any(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // Derived struct visitors accept a map or a sequence; only a map is an object.
        self.inner.deserialize_map(Wrap {
            inner: visitor,
            state: self.state,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(EnumVisitor {
            inner: visitor,
            variants,
            state: self.state,
        })
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor whose maps, sequences, enums and nested deserializers are strict too.
struct Wrap<'s, V> {
    inner: V,
    state: &'s State,
}

impl<'s, V> Wrap<'s, V> {
    fn strict<D>(&self, inner: D) -> Strict<'s, D> {
        Strict::new(inner, self.state)
    }
}

/// Forwards `visit_*` methods of plain values to the wrapped visitor.
macro_rules! forward_visits {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
                self.inner.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visits! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char),
        visit_str(&str), visit_borrowed_str(&'de str), visit_string(String),
        visit_bytes(&[u8]), visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        let strict = self.strict(deserializer);
        self.inner.visit_some(strict)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        let strict = self.strict(deserializer);
        self.inner.visit_newtype_struct(strict)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(Seq {
            inner: seq,
            state: self.state,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Map {
            inner: map,
            state: self.state,
            seen: Keys::default(),
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(Enum {
            inner: data,
            state: self.state,
        })
    }
}

/// A seed whose deserializer is strict.
struct Seed<'s, S> {
    inner: S,
    state: &'s State,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.inner
            .deserialize(Strict::new(deserializer, self.state))
    }
}

/// A struct variant's fields, read strictly (as a map).
struct StructSeed<'s, V> {
    fields: &'static [&'static str],
    visitor: V,
    state: &'s State,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for StructSeed<'_, V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        Strict::new(deserializer, self.state).deserialize_struct("", self.fields, self.visitor)
    }
}

/// A tuple variant's fields, read strictly.
struct TupleSeed<'s, V> {
    len: usize,
    visitor: V,
    state: &'s State,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for TupleSeed<'_, V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        Strict::new(deserializer, self.state).deserialize_tuple(self.len, self.visitor)
    }
}

struct Seq<'s, A> {
    inner: A,
    state: &'s State,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        self.inner.next_element_seed(Seed {
            inner: seed,
            state: self.state,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// The keys a map has had so far: the first few inline (no allocation for an ordinary
/// object), then a hash set, so a map of n keys costs O(n) whatever n is.
struct Keys<'de> {
    few: [Cow<'de, str>; Keys::FEW],
    len: usize,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl Default for Keys<'_> {
    fn default() -> Self {
        Keys {
            few: std::array::from_fn(|_| Cow::Borrowed("")),
            len: 0,
            many: None,
        }
    }
}

impl<'de> Keys<'de> {
    /// Up to this many keys are kept inline and compared one by one.
    const FEW: usize = 8;

    /// Records a key, or hands it back if the map already had it.
    fn insert(&mut self, key: Cow<'de, str>) -> Result<(), Cow<'de, str>> {
        if let Some(many) = &mut self.many {
            return if many.contains(&key) {
                Err(key)
            } else {
                many.insert(key);
                Ok(())
            };
        }
        let few = &mut self.few[..self.len];
        if few.contains(&key) {
            return Err(key);
        }
        if self.len < Self::FEW {
            self.few[self.len] = key;
            self.len += 1;
        } else {
            let mut many: HashSet<Cow<'de, str>> = few.iter_mut().map(std::mem::take).collect();
            many.insert(key);
            self.many = Some(many);
        }
        Ok(())
    }
}

struct Map<'s, 'de, A> {
    inner: A,
    state: &'s State,
    seen: Keys<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(KeySeed {
            inner: seed,
            state: self.state,
            seen: &mut self.seen,
        })
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.inner.next_value_seed(Seed {
            inner: seed,
            state: self.state,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// A map key: deserialized as the caller asks, then checked against the keys before it.
struct KeySeed<'s, 'k, 'de, S> {
    inner: S,
    state: &'s State,
    seen: &'k mut Keys<'de>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, '_, 'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(KeyDeserializer {
            inner: deserializer,
            state: self.state,
            seen: self.seen,
        })
    }
}

struct KeyDeserializer<'s, 'k, 'de, D> {
    inner: D,
    state: &'s State,
    seen: &'k mut Keys<'de>,
}

/// Forwards `deserialize_*` methods of a key deserializer, wrapping the visitor in one that
/// records the key.
macro_rules! forward_key {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.inner.$method($($arg,)* KeyVisitor { inner: visitor, state: self.state, seen: self.seen })
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for KeyDeserializer<'_, '_, 'de, D> {
    type Error = D::Error;

    forward_key! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_option(), deserialize_unit(), deserialize_seq(), deserialize_map(),
        deserialize_identifier(), deserialize_ignored_any(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Visits a key, then records it: a duplicate is an error only after the caller has seen
/// the key, so serde_path_to_error puts the key in the error's path.
struct KeyVisitor<'s, 'k, 'de, V> {
    inner: V,
    state: &'s State,
    seen: &'k mut Keys<'de>,
}

/// Records a key of a map; the second occurrence is an error, noted in `state`.
fn record<'de, E: de::Error>(
    state: &State,
    seen: &mut Keys<'de>,
    key: Cow<'de, str>,
) -> Result<(), E> {
    seen.insert(key).map_err(|key| {
        state.duplicate.set(true);
        E::custom(format!("duplicate key `{key}`"))
    })
}

/// Forwards scalar `visit_*` methods of a key, then records the key's text.
macro_rules! record_visits {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
                let key = value.to_string();
                let visited = self.inner.$method(value)?;
                record(self.state, self.seen, Cow::Owned(key))?;
                Ok(visited)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for KeyVisitor<'_, '_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    record_visits! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char), visit_str(&str),
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<V::Value, E> {
        let visited = self.inner.visit_borrowed_str(value)?;
        record(self.state, self.seen, Cow::Borrowed(value))?;
        Ok(visited)
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<V::Value, E> {
        let key = value.clone();
        let visited = self.inner.visit_string(value)?;
        record(self.state, self.seen, Cow::Owned(key))?;
        Ok(visited)
    }

    fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<V::Value, E> {
        let key = String::from_utf8_lossy(value).into_owned();
        let visited = self.inner.visit_bytes(value)?;
        record(self.state, self.seen, Cow::Owned(key))?;
        Ok(visited)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(data)
    }
}

/// An enum access whose variant contents are strict.
struct Enum<'s, A> {
    inner: A,
    state: &'s State,
}

impl<'s, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<'s, A> {
    type Error = A::Error;
    type Variant = Variant<'s, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((
            value,
            Variant {
                inner: variant,
                state: self.state,
            },
        ))
    }
}

struct Variant<'s, A> {
    inner: A,
    state: &'s State,
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.inner.newtype_variant_seed(Seed {
            inner: seed,
            state: self.state,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner.newtype_variant_seed(TupleSeed {
            len,
            visitor,
            state: self.state,
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner.newtype_variant_seed(StructSeed {
            fields,
            visitor,
            state: self.state,
        })
    }
}

/// "one of `a`, `b`": what an enum expects, for wrong-type errors.
struct OneOf(&'static [&'static str]);

impl Expected for OneOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("no value (the enum has no variants)"),
            [only] => write!(f, "`{only}`"),
            variants => {
                f.write_str("one of ")?;
                for (i, variant) in variants.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{variant}`")?;
                }
                Ok(())
            }
        }
    }
}

/// Reads an enum from whatever value is there: a string is a unit variant, a one-key map an
/// externally tagged variant; anything else is a wrong type naming the variants.
struct EnumVisitor<'s, V> {
    inner: V,
    variants: &'static [&'static str],
    state: &'s State,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for EnumVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        OneOf(self.variants).fmt(f)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<V::Value, E> {
        self.inner.visit_enum(StrDeserializer::new(value))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<V::Value, E> {
        self.inner.visit_enum(BorrowedStrDeserializer::new(value))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<V::Value, E> {
        self.inner.visit_enum(StringDeserializer::new(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        Err(E::invalid_type(Unexpected::Other("null"), &self))
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        Err(E::invalid_type(Unexpected::Other("null"), &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        let expected = OneOf(self.variants);
        let value = self.inner.visit_enum(MapEnum {
            map: &mut map,
            expected: &expected,
            state: self.state,
        })?;
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_type(Unexpected::Map, &expected));
        }
        Ok(value)
    }
}

/// An externally tagged enum, `{"variant": contents}`, read from a map.
struct MapEnum<'m, 'e, 's, A> {
    map: &'m mut A,
    expected: &'e OneOf,
    state: &'s State,
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for MapEnum<'_, '_, '_, A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), A::Error> {
        match self.map.next_key_seed(seed)? {
            Some(variant) => Ok((variant, self)),
            None => Err(de::Error::invalid_type(Unexpected::Map, self.expected)),
        }
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for MapEnum<'_, '_, '_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.map.next_value_seed(Seed {
            inner: PhantomData::<()>,
            state: self.state,
        })
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(Seed {
            inner: seed,
            state: self.state,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(TupleSeed {
            len,
            visitor,
            state: self.state,
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(StructSeed {
            fields,
            visitor,
            state: self.state,
        })
    }
}
