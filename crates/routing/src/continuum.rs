//! The ketama continuum: a sorted ring of `(point, server index)` pairs and
//! the three ways the libraries fill it (vectors:
//! `libmemcached_continuum.jsonl`, `nutcracker.jsonl`, `libvbucket.jsonl`).
//!
//! Every point is named `{base}-{i}`; the libraries differ only in the base
//! string, in how many names a server gets and in how a name becomes points.

use std::fmt::Write as _;

use crate::error::RoutingError;
use crate::hash::{md5_digest, md5_word, HashFn};

/// Points per server in an unweighted libmemcached continuum.
pub const LIBMEMCACHED_POINTS_PER_SERVER: u32 = 100;
/// Points per server (before weighting) in a weighted MD5 continuum.
pub const KETAMA_POINTS_PER_SERVER: u32 = 160;
/// Names per server in libvbucket's own ketama (4 points each).
pub const LIBVBUCKET_NAMES_PER_SERVER: u32 = 40;

/// Points given to one server of a weighted MD5 continuum (libmemcached
/// KETAMA_WEIGHTED, twemproxy ketama).
///
/// Computed in IEEE float32 exactly as the C code does it, rounding after
/// every operation: 25 equal servers get 156 points each, not 160. Weights of
/// 0 are expected to have been replaced by 1 already.
pub fn weighted_point_count(weight: u32, total_weight: u32, live_servers: u32) -> u32 {
    // `as f32` is C's (float) conversion: round to nearest.
    let pct = weight as f32 / total_weight as f32;
    let v = pct * KETAMA_POINTS_PER_SERVER as f32 / 4.0 * live_servers as f32;
    // libmemcached adds 1e-10, which float32 absorbs; kept for fidelity.
    let v = v + 1e-10_f32;
    // A float -> int `as` saturates, and v is never negative.
    (v.floor() as u32).saturating_mul(4)
}

/// A ketama continuum: points sorted by value (ties: lower server index
/// first, as libmemcached 1.x sorts), looked up with a lower-bound search
/// that wraps to the first point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuum {
    points: Vec<(u32, u32)>,
    servers: usize,
}

impl Continuum {
    /// A continuum from raw `(point, server index)` pairs for `servers`
    /// servers. Sorts the points; fails when there are none.
    pub fn from_points(mut points: Vec<(u32, u32)>, servers: usize) -> Result<Self, RoutingError> {
        if points.is_empty() || servers == 0 {
            return Err(RoutingError::NoServers);
        }
        points.sort_unstable();
        Ok(Continuum { points, servers })
    }

    /// The weighted MD5 continuum of libmemcached KETAMA_WEIGHTED and
    /// twemproxy ketama: for each `(base, weight)` (weight 0 counts as 1),
    /// [`weighted_point_count`] / 4 names `{base}-{i}`, each giving MD5
    /// words 0, 1, 2, 3 as points.
    pub fn md5_weighted<S: AsRef<str>>(entries: &[(S, u32)]) -> Result<Self, RoutingError> {
        let total = entries
            .iter()
            .try_fold(0u32, |acc, (_, w)| acc.checked_add((*w).max(1)))
            .ok_or(RoutingError::WeightOverflow)?;
        let live = u32::try_from(entries.len()).map_err(|_| RoutingError::WeightOverflow)?;
        let mut points = Vec::new();
        for (index, (base, weight)) in entries.iter().enumerate() {
            let names = weighted_point_count((*weight).max(1), total, live) / 4;
            push_md5_points(&mut points, base.as_ref(), names, index);
        }
        Self::from_points(points, entries.len())
    }

    /// libvbucket's (original libketama's) continuum: 40 names per base,
    /// 4 MD5 words each, no weights. Indices follow `bases` as given.
    pub fn md5_fixed<S: AsRef<str>>(
        bases: &[S],
        names_per_server: u32,
    ) -> Result<Self, RoutingError> {
        let mut points = Vec::new();
        for (index, base) in bases.iter().enumerate() {
            push_md5_points(&mut points, base.as_ref(), names_per_server, index);
        }
        Self::from_points(points, bases.len())
    }

    /// libmemcached's unweighted continuum: `names_per_server` names
    /// `{base}-{i}` per base, each hashed once with `point_hash` (the
    /// configured key hash) into one point.
    pub fn hashed_names<S: AsRef<str>>(
        bases: &[S],
        names_per_server: u32,
        point_hash: HashFn,
    ) -> Result<Self, RoutingError> {
        let mut points = Vec::new();
        let mut name = String::new();
        for (index, base) in bases.iter().enumerate() {
            for i in 0..names_per_server {
                point_name(&mut name, base.as_ref(), i);
                points.push((point_hash.hash(name.as_bytes()), server_index(index)));
            }
        }
        Self::from_points(points, bases.len())
    }

    /// The server index for a key hash: the first point `>= hash`, wrapping
    /// to the first point when `hash` is above them all.
    pub fn lookup(&self, hash: u32) -> usize {
        let at = self.points.partition_point(|&(point, _)| point < hash);
        let (_, server) = self
            .points
            .get(at)
            .or_else(|| self.points.first())
            .copied()
            .unwrap_or_default();
        server as usize
    }

    /// The sorted `(point, server index)` pairs.
    pub fn points(&self) -> &[(u32, u32)] {
        &self.points
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Always false: a continuum has at least one point.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The number of servers the continuum was built for (some may have no
    /// points when their weight is tiny).
    pub fn server_count(&self) -> usize {
        self.servers
    }
}

/// Writes `{base}-{i}` into `buf`, reusing its allocation.
fn point_name(buf: &mut String, base: &str, i: u32) {
    buf.clear();
    // Writing into a String cannot fail.
    let _ = write!(buf, "{base}-{i}");
}

/// Server indices are stored as u32; a list longer than that cannot be
/// configured, so saturating is only a formality.
fn server_index(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// Appends the four MD5-word points of each of `names` names of `base`.
fn push_md5_points(points: &mut Vec<(u32, u32)>, base: &str, names: u32, index: usize) {
    let mut name = String::new();
    points.reserve(names as usize * 4);
    for i in 0..names {
        point_name(&mut name, base, i);
        let digest = md5_digest(name.as_bytes());
        for word in 0..4 {
            points.push((md5_word(&digest, word), server_index(index)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_counts_for_equal_servers() {
        assert_eq!(weighted_point_count(1, 25, 25), 156);
        for n in [47, 50, 55, 61, 71, 94, 100] {
            assert_eq!(weighted_point_count(1, n, n), 156, "n = {n}");
        }
        for n in 1..=24 {
            assert_eq!(weighted_point_count(1, n, n), 160, "n = {n}");
        }
    }

    #[test]
    fn float32_counts_for_weights_1_to_5() {
        let counts: Vec<u32> = (1..=5).map(|w| weighted_point_count(w, 15, 5)).collect();
        assert_eq!(counts, [52, 104, 160, 212, 264]);
        assert_eq!(counts.iter().sum::<u32>(), 792);
    }

    #[test]
    fn hosts25_has_3900_points() {
        let bases: Vec<(String, u32)> = (1..=25)
            .map(|i| (format!("mc{i:02}.example.com"), 0))
            .collect();
        assert_eq!(Continuum::md5_weighted(&bases).unwrap().len(), 3900);
    }

    #[test]
    fn lower_bound_with_wrap() {
        let c = Continuum::from_points(vec![(30, 2), (10, 0), (20, 1)], 3).unwrap();
        assert_eq!(c.points(), &[(10, 0), (20, 1), (30, 2)]);
        assert_eq!(c.lookup(0), 0);
        assert_eq!(c.lookup(10), 0, "an exact hit takes that point");
        assert_eq!(c.lookup(11), 1);
        assert_eq!(c.lookup(30), 2);
        assert_eq!(c.lookup(31), 0, "above every point wraps");
        assert_eq!(c.lookup(u32::MAX), 0);
    }

    #[test]
    fn ties_prefer_the_lower_index() {
        let c = Continuum::from_points(vec![(5, 3), (5, 1)], 4).unwrap();
        assert_eq!(c.lookup(5), 1);
    }

    #[test]
    fn empty_is_refused() {
        assert_eq!(
            Continuum::from_points(vec![], 0),
            Err(RoutingError::NoServers)
        );
        let none: [(&str, u32); 0] = [];
        assert!(Continuum::md5_weighted(&none).is_err());
    }
}
