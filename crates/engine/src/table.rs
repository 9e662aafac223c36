//! A shard's items in LRU order: an arena of slots linked by index, and a
//! hash index of slot numbers.
//!
//! Per item this costs the entry's one allocation (header, key and value;
//! [`Entry`]), a 32-byte slot (the entry's pointer, the LRU links and the
//! recency stamp) and a 4-byte index cell. The map it replaces, a linked
//! hash map of `Bytes` keys and values, cost three allocations and about
//! 320 bytes for a 100-byte value, against memcached's 192-byte slab chunk.
//!
//! Slot numbers are stable while an item is linked; a freed slot is reused
//! by the next insert.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use crate::item::Entry;

/// No slot: the end of a list.
const NIL: u32 = u32::MAX;

struct Slot {
    entry: Entry,
    /// Less recently used neighbour (or the next free slot).
    prev: u32,
    /// More recently used neighbour.
    next: u32,
    /// Recency stamp, compared across shards.
    access: u64,
}

/// Items by key, in LRU order (front = least recently used).
pub(crate) struct Table {
    index: HashTable<u32>,
    slots: Vec<Slot>,
    /// Head of the free slots, linked through `prev`.
    free: u32,
    head: u32,
    tail: u32,
    len: usize,
    /// Keyed at random per table: hostile keys cannot pile into one bucket.
    hasher: RandomState,
}

impl Table {
    pub(crate) fn new() -> Self {
        Table {
            index: HashTable::new(),
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            len: 0,
            hasher: RandomState::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The slot holding `key`.
    pub(crate) fn find(&self, key: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.index
            .find(hash, |&i| self.slots[i as usize].entry.key() == key)
            .copied()
    }

    pub(crate) fn entry(&self, i: u32) -> &Entry {
        &self.slots[i as usize].entry
    }

    pub(crate) fn entry_mut(&mut self, i: u32) -> &mut Entry {
        &mut self.slots[i as usize].entry
    }

    pub(crate) fn access(&self, i: u32) -> u64 {
        self.slots[i as usize].access
    }

    /// The least recently used slot.
    pub(crate) fn front(&self) -> Option<u32> {
        (self.head != NIL).then_some(self.head)
    }

    /// The slot used next after `i`, towards the most recent.
    pub(crate) fn next(&self, i: u32) -> Option<u32> {
        let next = self.slots[i as usize].next;
        (next != NIL).then_some(next)
    }

    /// Makes `i` the most recently used, stamped `access`.
    pub(crate) fn make_recent(&mut self, i: u32, access: u64) {
        self.detach(i);
        self.attach_back(i);
        self.slots[i as usize].access = access;
    }

    /// Links `entry` (whose key is not in the table) as the most recently
    /// used.
    pub(crate) fn insert(&mut self, entry: Entry, access: u64) -> u32 {
        let hash = self.hasher.hash_one(entry.key());
        let i = self.alloc(entry, access);
        let slots = &self.slots;
        let hasher = &self.hasher;
        self.index
            .insert_unique(hash, i, |&j| hasher.hash_one(slots[j as usize].entry.key()));
        self.attach_back(i);
        self.len += 1;
        i
    }

    /// Puts `entry` (same key) in slot `i` as the most recently used;
    /// returns the entry it replaces.
    pub(crate) fn replace(&mut self, i: u32, entry: Entry, access: u64) -> Entry {
        self.make_recent(i, access);
        std::mem::replace(&mut self.slots[i as usize].entry, entry)
    }

    /// Unlinks slot `i` and returns its entry.
    pub(crate) fn remove(&mut self, i: u32) -> Entry {
        let hash = self.hasher.hash_one(self.slots[i as usize].entry.key());
        if let Ok(cell) = self.index.find_entry(hash, |&j| j == i) {
            cell.remove();
        }
        self.detach(i);
        self.len -= 1;
        let slot = &mut self.slots[i as usize];
        slot.prev = self.free;
        slot.next = NIL;
        self.free = i;
        std::mem::replace(&mut slot.entry, Entry::empty())
    }

    fn alloc(&mut self, entry: Entry, access: u64) -> u32 {
        let slot = Slot {
            entry,
            prev: NIL,
            next: NIL,
            access,
        };
        if self.free != NIL {
            let i = self.free;
            self.free = self.slots[i as usize].prev;
            self.slots[i as usize] = slot;
            return i;
        }
        // Slot numbers are u32: four billion items need far more memory
        // than any `-m` this can be given.
        let i = u32::try_from(self.slots.len()).unwrap_or(NIL - 1);
        self.slots.push(slot);
        i
    }

    fn detach(&mut self, i: u32) {
        let (prev, next) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        match prev {
            NIL => self.head = next,
            p => self.slots[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slots[n as usize].prev = prev,
        }
        let s = &mut self.slots[i as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    fn attach_back(&mut self, i: u32) {
        let tail = self.tail;
        {
            let s = &mut self.slots[i as usize];
            s.prev = tail;
            s.next = NIL;
        }
        match tail {
            NIL => self.head = i,
            t => self.slots[t as usize].next = i,
        }
        self.tail = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> Entry {
        Entry::new(key.as_bytes(), &[key.as_bytes()], 0, 0, 0, 0)
    }

    fn order(t: &Table) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = t.front();
        while let Some(i) = at {
            out.push(String::from_utf8_lossy(t.entry(i).key()).into_owned());
            at = t.next(i);
        }
        out
    }

    #[test]
    fn keeps_lru_order_through_inserts_touches_and_removals() {
        let mut t = Table::new();
        let a = t.insert(entry("a"), 1);
        let b = t.insert(entry("b"), 2);
        t.insert(entry("c"), 3);
        assert_eq!(order(&t), ["a", "b", "c"]);
        t.make_recent(a, 4);
        assert_eq!(order(&t), ["b", "c", "a"]);
        assert_eq!(t.access(a), 4);
        let removed = t.remove(b);
        assert_eq!(removed.key(), b"b");
        assert_eq!(order(&t), ["c", "a"]);
        assert_eq!(t.find(b"b"), None);
        assert_eq!(t.len(), 2);
        // The freed slot is reused, and the new item is the most recent.
        let d = t.insert(entry("d"), 5);
        assert_eq!(d, b);
        assert_eq!(order(&t), ["c", "a", "d"]);
        assert_eq!(t.find(b"d"), Some(d));
        assert_eq!(t.find(b"a"), Some(a));
    }

    #[test]
    fn removing_every_item_empties_the_list_and_index() {
        let mut t = Table::new();
        let slots: Vec<u32> = (0..100)
            .map(|n| t.insert(entry(&n.to_string()), n))
            .collect();
        for (n, &i) in slots.iter().enumerate().rev() {
            assert_eq!(t.find(n.to_string().as_bytes()), Some(i));
            t.remove(i);
        }
        assert_eq!(t.len(), 0);
        assert_eq!(t.front(), None);
        assert_eq!(t.find(b"7"), None);
    }

    #[test]
    fn replace_keeps_the_slot_and_moves_it_to_the_back() {
        let mut t = Table::new();
        let a = t.insert(entry("a"), 1);
        t.insert(entry("b"), 2);
        let old = t.replace(a, Entry::new(b"a", &[b"new"], 7, 0, 0, 9), 3);
        assert_eq!(old.data(), b"a");
        assert_eq!(order(&t), ["b", "a"]);
        assert_eq!(t.entry(a).data(), b"new");
        assert_eq!(t.entry(a).flags(), 7);
        assert_eq!(t.entry(a).cas(), 9);
    }
}
