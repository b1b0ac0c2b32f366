//! A fast, non-cryptographic hasher for the matchers' tables of short keys (packed UTF-16
//! n-grams, token strings, keyword ids), and the packed lists those tables point to.
//!
//! The standard SipHash resists collision flooding, which matters when an attacker chooses
//! the keys inserted into a table. Here every table is built once from the knowledge base,
//! which the operator trusts; what a user types is only looked up, and a lookup cannot make a
//! table's collision chains longer. A multiply-rotate hash (the `FxHash` scheme rustc uses)
//! is several times faster on these keys, and lookups are most of the per-message work.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

/// `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// `HashSet` with [`FastHasher`].
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// Multiplier of the `FxHash` scheme (from rustc's `FxHasher`, 64-bit).
const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

/// Word-at-a-time multiply-rotate hasher, with a final mix so that the low bits the table
/// uses to pick a bucket depend on every input bit.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            for (slot, byte) in word.iter_mut().zip(rest) {
                *slot = *byte;
            }
            // The length keeps `[1]` and `[1, 0]` apart.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_u128(&mut self, n: u128) {
        self.add(n as u64);
        self.add((n >> 64) as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // The high bits of a product are the well-mixed ones; fold them down.
        let h = self.hash;
        (h ^ (h >> 29)).wrapping_mul(MULTIPLIER) ^ (h >> 32)
    }
}

/// Hash of a sequence of words, for keys that only need to be equal when their inputs are
/// (a collision is tolerated by the caller, which verifies what it finds).
pub(crate) fn hash_words(words: impl IntoIterator<Item = u64>) -> u64 {
    let mut hasher = FastHasher::default();
    for word in words {
        hasher.add(word);
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
        BuildHasherDefault::<FastHasher>::default().hash_one(value)
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
