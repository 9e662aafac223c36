//! [`List`]: a list that holds a single item without a heap allocation.

use std::ops::Deref;

use crate::model::Key;

/// A list that holds one item inline. Nearly every get names one key and
/// nearly every reply is one frame, so the common case costs no heap
/// allocation (a `Vec` costs one per request, and another per copy).
#[derive(Clone, Debug)]
pub enum List<T> {
    /// Exactly one item.
    One([T; 1]),
    /// Any number of items.
    Many(Vec<T>),
}

/// The keys of a [`crate::Get`], in request order.
pub type Keys = List<Key>;

impl<T> List<T> {
    /// An empty list (allocates nothing).
    pub const fn new() -> List<T> {
        List::Many(Vec::new())
    }

    /// An empty list with room for `n` (one item needs no room).
    pub fn with_capacity(n: usize) -> List<T> {
        match n {
            0 | 1 => List::new(),
            n => List::Many(Vec::with_capacity(n)),
        }
    }

    /// Appends `item`.
    pub fn push(&mut self, item: T) {
        match self {
            List::Many(v) if v.capacity() == 0 => *self = List::One([item]),
            List::Many(v) => v.push(item),
            List::One(_) => {
                if let List::One([first]) = std::mem::take(self) {
                    *self = List::Many(vec![first, item]);
                }
            }
        }
    }

    /// Removes every item (keeping a list's room).
    pub fn clear(&mut self) {
        match self {
            List::Many(v) => v.clear(),
            List::One(_) => *self = List::new(),
        }
    }
}

/// Lists are equal when they hold equal items in the same order, however
/// they hold them.
impl<T: PartialEq> PartialEq for List<T> {
    fn eq(&self, other: &List<T>) -> bool {
        self[..] == other[..]
    }
}

impl<T: Eq> Eq for List<T> {}

impl<T> Default for List<T> {
    fn default() -> List<T> {
        List::new()
    }
}

impl<T> Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            List::One(one) => one,
            List::Many(v) => v,
        }
    }
}

impl<T> std::ops::DerefMut for List<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            List::One(one) => one,
            List::Many(v) => v,
        }
    }
}

impl<T> From<Vec<T>> for List<T> {
    fn from(mut v: Vec<T>) -> List<T> {
        match v.pop() {
            Some(only) if v.is_empty() => List::One([only]),
            Some(last) => {
                v.push(last);
                List::Many(v)
            }
            None => List::Many(v),
        }
    }
}

impl From<Key> for List<Key> {
    fn from(key: Key) -> List<Key> {
        List::One([key])
    }
}

impl<T> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> List<T> {
        let mut list = List::new();
        for item in iter {
            list.push(item);
        }
        list
    }
}

impl<T> IntoIterator for List<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        match self {
            List::One(one) => IntoIter::One(one.into_iter()),
            List::Many(v) => IntoIter::Many(v.into_iter()),
        }
    }
}

/// The items of a [`List`], by value.
pub enum IntoIter<T> {
    /// From a list of one.
    One(std::array::IntoIter<T, 1>),
    /// From a longer (or empty) list.
    Many(std::vec::IntoIter<T>),
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            IntoIter::One(it) => it.next(),
            IntoIter::Many(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            IntoIter::One(it) => it.size_hint(),
            IntoIter::Many(it) => it.size_hint(),
        }
    }
}

impl<T> DoubleEndedIterator for IntoIter<T> {
    fn next_back(&mut self) -> Option<T> {
        match self {
            IntoIter::One(it) => it.next_back(),
            IntoIter::Many(it) => it.next_back(),
        }
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}

impl<'a, T> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

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
        assert!(matches!(keys, List::One(_)));
        keys.push(key("b"));
        keys.push(key("c"));
        assert_eq!(&keys[..], &[key("a"), key("b"), key("c")]);
        keys.clear();
        assert!(keys.is_empty());
        // A cleared list keeps its room and stays a list.
        keys.push(key("d"));
        assert!(matches!(keys, List::Many(_)));
        assert_eq!(&keys[..], &[key("d")]);
        assert_eq!(keys, Keys::from(key("d")));
    }

    #[test]
    fn conversions_keep_the_keys() {
        let v = vec![key("x"), key("y")];
        assert_eq!(Keys::from(v.clone()).into_iter().collect::<Vec<_>>(), v);
        let one: Keys = vec![key("z")].into();
        assert!(matches!(one, List::One(_)));
        assert_eq!(one, Keys::from(key("z")));
        let collected: Keys = v.iter().cloned().collect();
        assert_eq!(&collected[..], &v[..]);
    }
}
