//! ascii (text) protocol encoding: to be written.
