//! A fast, non-cryptographic hasher for the matchers' tables of short keys (packed UTF-16
//! n-grams, token strings, keyword ids), and the packed lists those tables point to.
//!
//! The standard SipHash resists collision flooding, which matters when an attacker chooses
//! the keys inserted into a table. Here every table is built once from the knowledge base,
//! which the operator trusts; what a user types is only looked up, and a lookup cannot make a
//! table's collision chains longer. rustc's own `FxHash` (the `rustc-hash` crate) is several
//! times faster on these keys, and lookups are most of the per-message work.

use std::hash::Hasher;
use std::ops::Range;

pub(crate) use rustc_hash::{FxHashMap as FastMap, FxHashSet as FastSet};

/// Hash of a sequence of words, for keys that only need to be equal when their inputs are
/// (a collision is tolerated by the caller, which verifies what it finds).
pub(crate) fn hash_words(words: impl IntoIterator<Item = u64>) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    for word in words {
        hasher.write_u64(word);
    }
    hasher.finish()
}

/// Lists of ids in one flat array (compressed rows): list `i` is `items[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone)]
pub(crate) struct Postings<T> {
    offsets: Vec<u32>,
    items: Vec<T>,
}

impl<T: Copy> Postings<T> {
    pub(crate) fn from_lists(lists: Vec<Vec<T>>) -> Self {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        let mut items = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        offsets.push(0);
        for list in lists {
            items.extend(list);
            offsets.push(u32::try_from(items.len()).unwrap_or(u32::MAX));
        }
        Self { offsets, items }
    }

    pub(crate) fn range(&self, list: usize) -> Range<usize> {
        let start = self.offsets.get(list).copied().unwrap_or(0) as usize;
        let end = self.offsets.get(list + 1).copied().unwrap_or(0) as usize;
        start..end.max(start)
    }

    pub(crate) fn get(&self, list: usize) -> &[T] {
        self.items.get(self.range(list)).unwrap_or_default()
    }
}

/// A multimap from keys to lists, built once.
#[derive(Debug, Clone)]
pub(crate) struct KeyedLists<K, V = u32> {
    lists: FastMap<K, u32>,
    postings: Postings<V>,
}

impl<K: std::hash::Hash + Eq, V: Copy> KeyedLists<K, V> {
    pub(crate) fn new(map: FastMap<K, Vec<V>>) -> Self {
        let mut lists = FastMap::default();
        lists.reserve(map.len());
        let mut all = Vec::with_capacity(map.len());
        for (key, ids) in map {
            lists.insert(key, u32::try_from(all.len()).unwrap_or(u32::MAX));
            all.push(ids);
        }
        Self {
            lists,
            postings: Postings::from_lists(all),
        }
    }

    pub(crate) fn get(&self, key: &K) -> &[V] {
        match self.lists.get(key) {
            Some(&list) => self.postings.get(list as usize),
            None => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        rustc_hash::FxBuildHasher.hash_one(value)
    }

    #[test]
    fn equal_inputs_hash_equal_and_close_inputs_differ() {
        let a: &[u16] = &[104, 111, 114, 97];
        assert_eq!(hash_of(a), hash_of(&[104u16, 111, 114, 97][..]));
        assert_ne!(hash_of(a), hash_of(&[104u16, 111, 114, 98][..]));
        assert_ne!(hash_of(&[1u8][..]), hash_of(&[1u8, 0][..]));
        assert_ne!(hash_words([1, 2]), hash_words([2, 1]));
        let mut map: FastMap<Box<[u16]>, u32> = FastMap::default();
        map.insert(a.into(), 7);
        assert_eq!(map.get(a), Some(&7));
    }
}
