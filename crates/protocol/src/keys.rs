//! [`Keys`]: a retrieval's keys, kept inline when there is one.

use std::ops::Deref;

use crate::model::Key;

/// The keys of a [`crate::Get`], in request order. Nearly every get names
/// one key, so one key is held without a heap allocation of its own (a
/// `Vec` would cost one per request, and another per copy sent on).
#[derive(Clone, Debug)]
pub enum Keys {
    /// Exactly one key.
    One([Key; 1]),
    /// Any number of keys.
    Many(Vec<Key>),
}

impl Keys {
    /// No keys (allocates nothing).
    pub const fn new() -> Keys {
        Keys::Many(Vec::new())
    }

    /// No keys, with room for `n` (one key needs no room).
    pub fn with_capacity(n: usize) -> Keys {
        match n {
            0 | 1 => Keys::new(),
            n => Keys::Many(Vec::with_capacity(n)),
        }
    }

    /// Appends `key`.
    pub fn push(&mut self, key: Key) {
        match self {
            Keys::Many(v) if v.is_empty() && v.capacity() == 0 => *self = Keys::One([key]),
            Keys::Many(v) => v.push(key),
            Keys::One([first]) => {
                let first = std::mem::replace(first, Key(bytes::Bytes::new()));
                *self = Keys::Many(vec![first, key]);
            }
        }
    }

    /// Removes every key (keeping a list's room).
    pub fn clear(&mut self) {
        match self {
            Keys::Many(v) => v.clear(),
            Keys::One(_) => *self = Keys::new(),
        }
    }
}

/// Keys are equal when they list the same keys, however they are held.
impl PartialEq for Keys {
    fn eq(&self, other: &Keys) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Keys {}

impl Default for Keys {
    fn default() -> Keys {
        Keys::new()
    }
}

impl Deref for Keys {
    type Target = [Key];

    fn deref(&self) -> &[Key] {
        match self {
            Keys::One(one) => one,
            Keys::Many(v) => v,
        }
    }
}

impl From<Vec<Key>> for Keys {
    fn from(mut v: Vec<Key>) -> Keys {
        match v.len() {
            1 => Keys::One([v.remove(0)]),
            _ => Keys::Many(v),
        }
    }
}

impl From<Key> for Keys {
    fn from(key: Key) -> Keys {
        Keys::One([key])
    }
}

impl FromIterator<Key> for Keys {
    fn from_iter<I: IntoIterator<Item = Key>>(iter: I) -> Keys {
        let mut keys = Keys::new();
        for key in iter {
            keys.push(key);
        }
        keys
    }
}

impl IntoIterator for Keys {
    type Item = Key;
    type IntoIter = std::vec::IntoIter<Key>;

    fn into_iter(self) -> Self::IntoIter {
        match self {
            Keys::One([key]) => vec![key].into_iter(),
            Keys::Many(v) => v.into_iter(),
        }
    }
}

impl<'a> IntoIterator for &'a Keys {
    type Item = &'a Key;
    type IntoIter = std::slice::Iter<'a, Key>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Key(bytes::Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn one_key_is_inline_and_more_keys_keep_their_order() {
        let mut keys = Keys::new();
        assert!(keys.is_empty());
        keys.push(key("a"));
        assert!(matches!(keys, Keys::One(_)));
        keys.push(key("b"));
        keys.push(key("c"));
        assert_eq!(&keys[..], &[key("a"), key("b"), key("c")]);
        keys.clear();
        assert!(keys.is_empty());
        // A cleared list keeps its room and stays a list.
        keys.push(key("d"));
        assert!(matches!(keys, Keys::Many(_)));
        assert_eq!(&keys[..], &[key("d")]);
        assert_eq!(keys, Keys::from(key("d")));
    }

    #[test]
    fn conversions_keep_the_keys() {
        let v = vec![key("x"), key("y")];
        assert_eq!(Keys::from(v.clone()).into_iter().collect::<Vec<_>>(), v);
        let one: Keys = vec![key("z")].into();
        assert!(matches!(one, Keys::One(_)));
        assert_eq!(one, Keys::from(key("z")));
        let collected: Keys = v.iter().cloned().collect();
        assert_eq!(&collected[..], &v[..]);
    }
}
