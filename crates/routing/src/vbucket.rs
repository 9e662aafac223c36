//! vBucket routing as libvbucket (and moxi's copy of it) does it: key →
//! vBucket by a 15-bit CRC, vBucket → server by a map, and the forward map
//! consulted after a "not my vBucket" reply (vectors: `vbucket.json`,
//! `libvbucket.jsonl`). JSON parsing belongs to the config crate.

use crate::error::RoutingError;
use crate::hash::HashFn;

/// The largest vBucket count libvbucket accepts.
pub const MAX_VBUCKETS: usize = 65536;
/// The most replicas libvbucket accepts.
pub const MAX_REPLICAS: usize = 4;

/// The vBucket of `key`: `((crc32(key) >> 16) & 0x7fff) & (num_vbuckets - 1)`.
///
/// `num_vbuckets` should be a power of two (see [`VbucketMap::validate`]);
/// the hash has 15 bits, so ids of 32768 and above never occur.
pub fn vbucket_id(key: &[u8], num_vbuckets: u32) -> u16 {
    let id = HashFn::Crc.hash(key) & num_vbuckets.wrapping_sub(1);
    // The CRC hash is masked to 15 bits, so this cannot truncate.
    id as u16
}

/// A vBucket server map: pure data, checked by [`VbucketMap::validate`].
/// Entries are `[master, replica1, ..]` indices into `servers`, −1 = none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VbucketMap {
    /// `serverList`: `host:port` strings the map entries index into.
    pub servers: Vec<String>,
    /// `vBucketMap`: one entry per vBucket.
    pub map: Vec<Vec<i32>>,
    /// `vBucketMapForward`, when the cluster is rebalancing.
    pub forward: Option<Vec<Vec<i32>>>,
}

impl VbucketMap {
    /// A map, validated.
    pub fn try_new(
        servers: Vec<String>,
        map: Vec<Vec<i32>>,
        forward: Option<Vec<Vec<i32>>>,
    ) -> Result<Self, RoutingError> {
        let m = VbucketMap {
            servers,
            map,
            forward,
        };
        m.validate()?;
        Ok(m)
    }

    /// Checks libvbucket's rules: at least one server; a power-of-two number
    /// of vBuckets up to 65536; every entry (and every forward entry, the
    /// forward map having the same length) holding `replicas + 1` slots,
    /// at most 4 replicas, each slot in `-1..servers.len()`.
    pub fn validate(&self) -> Result<(), RoutingError> {
        if self.servers.is_empty() {
            return Err(RoutingError::NoServers);
        }
        let count = self.map.len();
        if !count.is_power_of_two() || count > MAX_VBUCKETS {
            return Err(RoutingError::BadVbucketCount(count));
        }
        let width = self.map.first().map_or(0, Vec::len);
        if width == 0 {
            return Err(RoutingError::BadVbucketEntry {
                vbucket: 0,
                expected: 1,
                got: 0,
            });
        }
        if width - 1 > MAX_REPLICAS {
            return Err(RoutingError::TooManyReplicas(width - 1));
        }
        self.check_entries(&self.map, width)?;
        if let Some(forward) = &self.forward {
            if forward.len() != count {
                return Err(RoutingError::BadVbucketCount(forward.len()));
            }
            self.check_entries(forward, width)?;
        }
        Ok(())
    }

    fn check_entries(&self, map: &[Vec<i32>], width: usize) -> Result<(), RoutingError> {
        let servers = self.servers.len();
        for (vbucket, entry) in map.iter().enumerate() {
            if entry.len() != width {
                return Err(RoutingError::BadVbucketEntry {
                    vbucket,
                    expected: width,
                    got: entry.len(),
                });
            }
            let in_range = |&i: &i32| i == -1 || usize::try_from(i).is_ok_and(|i| i < servers);
            if let Some(&index) = entry.iter().find(|i| !in_range(i)) {
                return Err(RoutingError::BadServerIndex { vbucket, index });
            }
        }
        Ok(())
    }

    /// The number of vBuckets.
    pub fn num_vbuckets(&self) -> u32 {
        u32::try_from(self.map.len()).unwrap_or(u32::MAX)
    }

    /// The number of replicas per vBucket.
    pub fn num_replicas(&self) -> usize {
        self.map.first().map_or(0, |e| e.len().saturating_sub(1))
    }

    /// The vBucket of `key` in this map.
    pub fn vbucket(&self, key: &[u8]) -> u16 {
        vbucket_id(key, self.num_vbuckets())
    }

    /// The master server of `key`'s vBucket, if it has one.
    pub fn locate(&self, key: &[u8]) -> Option<usize> {
        self.master(self.vbucket(key))
    }

    /// The master server of vBucket `vb`; `None` for −1 or a bad id.
    pub fn master(&self, vb: u16) -> Option<usize> {
        self.slot(vb, 0)
    }

    /// Replica `j` (0-based) of vBucket `vb`; `None` for −1 or out of range.
    pub fn replica(&self, vb: u16, j: usize) -> Option<usize> {
        self.slot(vb, j.checked_add(1)?)
    }

    fn slot(&self, vb: u16, slot: usize) -> Option<usize> {
        let index = *self.map.get(usize::from(vb))?.get(slot)?;
        usize::try_from(index)
            .ok()
            .filter(|&i| i < self.servers.len())
    }

    /// libvbucket's `vbucket_found_incorrect_master`: `wrong_server` answered
    /// "not my vBucket" for `vb`. With a forward map, the vBucket's whole
    /// entry (master and replicas) is copied from it. Without one, if
    /// `wrong_server` is the mapped master, the master advances to
    /// `(master + 1) % servers`. Returns the (new) master.
    pub fn found_incorrect_master(&mut self, vb: u16, wrong_server: usize) -> Option<usize> {
        let servers = self.servers.len();
        let forward = self
            .forward
            .as_ref()
            .and_then(|f| f.get(usize::from(vb)))
            .cloned();
        let entry = self.map.get_mut(usize::from(vb))?;
        match forward {
            Some(fwd) => {
                for (slot, value) in entry.iter_mut().zip(fwd) {
                    *slot = value;
                }
            }
            None => {
                let master = entry.first_mut()?;
                if usize::try_from(*master).ok() == Some(wrong_server) && servers > 0 {
                    let next = (wrong_server + 1) % servers;
                    *master = i32::try_from(next).ok()?;
                }
            }
        }
        self.master(vb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("10.1.1.{}:11210", i + 1)).collect()
    }

    #[test]
    fn ids_stay_below_32768() {
        for key in [&b"a"[..], b"foo", b"key:1", b""] {
            assert!(vbucket_id(key, 65536) < 32768);
            assert_eq!(vbucket_id(key, 1), 0);
        }
    }

    #[test]
    fn validation() {
        let ok = VbucketMap::try_new(servers(3), vec![vec![0, 1], vec![1, -1]], None);
        assert!(ok.is_ok());
        let bad_count = VbucketMap::try_new(servers(3), vec![vec![0]; 3], None);
        assert_eq!(bad_count, Err(RoutingError::BadVbucketCount(3)));
        let bad_index = VbucketMap::try_new(servers(3), vec![vec![0], vec![3]], None);
        assert_eq!(
            bad_index,
            Err(RoutingError::BadServerIndex {
                vbucket: 1,
                index: 3
            })
        );
        let ragged = VbucketMap::try_new(servers(3), vec![vec![0, 1], vec![1]], None);
        assert!(matches!(
            ragged,
            Err(RoutingError::BadVbucketEntry { vbucket: 1, .. })
        ));
        let fwd = VbucketMap::try_new(servers(3), vec![vec![0], vec![1]], Some(vec![vec![0]]));
        assert_eq!(fwd, Err(RoutingError::BadVbucketCount(1)));
        assert_eq!(
            VbucketMap::try_new(vec![], vec![vec![0]], None),
            Err(RoutingError::NoServers)
        );
    }

    #[test]
    fn masters_and_replicas() {
        let m = VbucketMap::try_new(servers(3), vec![vec![2, 0], vec![-1, 1]], None).unwrap();
        assert_eq!(m.master(0), Some(2));
        assert_eq!(m.replica(0, 0), Some(0));
        assert_eq!(m.master(1), None);
        assert_eq!(m.replica(1, 0), Some(1));
        assert_eq!(m.replica(1, 1), None);
        assert_eq!(m.master(2), None);
        assert_eq!(m.num_replicas(), 1);
    }

    #[test]
    fn incorrect_master_without_forward_map_advances() {
        let mut m = VbucketMap::try_new(servers(3), vec![vec![2, 0], vec![0, 1]], None).unwrap();
        // Someone else's complaint does not move the vBucket.
        assert_eq!(m.found_incorrect_master(0, 1), Some(2));
        assert_eq!(m.found_incorrect_master(0, 2), Some(0), "wraps around");
        assert_eq!(m.found_incorrect_master(0, 0), Some(1));
        assert_eq!(m.map[0], [1, 0], "replicas untouched");
        assert_eq!(m.found_incorrect_master(7, 0), None);
    }

    #[test]
    fn incorrect_master_with_forward_map_copies_the_entry() {
        let fwd = Some(vec![vec![1, 2], vec![-1, 0]]);
        let mut m = VbucketMap::try_new(servers(3), vec![vec![0, 1], vec![1, 2]], fwd).unwrap();
        assert_eq!(
            m.found_incorrect_master(0, 2),
            Some(1),
            "any complaint moves it"
        );
        assert_eq!(m.map[0], [1, 2]);
        assert_eq!(m.found_incorrect_master(1, 1), None);
        assert_eq!(m.map[1], [-1, 0]);
    }
}
