//! binary protocol encoding: to be written.
