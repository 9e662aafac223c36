//! A downstream server as the routing algorithms see it: a host string (never
//! resolved), a port and a weight, plus the point-name bases each library
//! derives from them.

use std::fmt;

/// The memcached default port; libmemcached and twemproxy leave it out of
/// continuum point names.
pub const DEFAULT_PORT: u16 = 11211;

/// One downstream server, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    /// The host exactly as configured; it is hashed as text, never resolved.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The weight; 0 means "not given", which every algorithm treats as 1.
    pub weight: u32,
}

impl Server {
    /// A server with the given host, port and weight (0 = not given).
    pub fn new(host: impl Into<String>, port: u16, weight: u32) -> Self {
        Server {
            host: host.into(),
            port,
            weight,
        }
    }

    /// The weight the algorithms use: 0 counts as 1.
    pub fn effective_weight(&self) -> u32 {
        self.weight.max(1)
    }

    /// libmemcached's and twemproxy's point-name base: `host` on the default
    /// port, otherwise `host:port`. Points are named `{base}-{i}`.
    pub fn ketama_name(&self) -> String {
        if self.port == DEFAULT_PORT {
            self.host.clone()
        } else {
            self.authority()
        }
    }

    /// libmemcached KETAMA_SPY's point-name base: `/host:port`, always with
    /// the port.
    pub fn spy_name(&self) -> String {
        format!("/{}:{}", self.host, self.port)
    }

    /// `host:port`, always with the port (libvbucket's authority).
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)?;
        if self.weight != 0 {
            write!(f, ":{}", self.weight)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_name_bases() {
        let a = Server::new("mc1.example.com", 11211, 0);
        let b = Server::new("10.0.0.2", 11212, 3);
        assert_eq!(a.ketama_name(), "mc1.example.com");
        assert_eq!(b.ketama_name(), "10.0.0.2:11212");
        assert_eq!(a.spy_name(), "/mc1.example.com:11211");
        assert_eq!(a.authority(), "mc1.example.com:11211");
        assert_eq!(a.effective_weight(), 1);
        assert_eq!(b.to_string(), "10.0.0.2:11212:3");
    }
}
