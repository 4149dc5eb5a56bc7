//! How a Zenoh session is set up: from code, from a Zenoh JSON5 file, from the environment.
//!
//! The defaults keep everything on this machine: peer mode, listening on
//! `tcp/127.0.0.1:0` (loopback, a port chosen by the system), no multicast scouting, gossip on.
//! Nothing is reachable from the network and nothing is announced to it until you say so.
//! To reach things on another machine, listen on an interface address (`tcp/0.0.0.0:7447`),
//! connect to a known peer or router, or turn multicast scouting on for a LAN.
//!
//! Precedence, lowest first: the defaults (or a Zenoh JSON5 config file, when one is given),
//! then every knob set from code or the environment. [`ZenohConfig::with_env`] applies the
//! environment over what code set; the `safething` console applies its flags last.
//!
//! | variable | meaning | example |
//! |---|---|---|
//! | `SAFETHING_ZENOH_MODE` | `peer`, `client` or `router` | `client` |
//! | `SAFETHING_ZENOH_LISTEN` | endpoints to listen on, comma-separated (empty: none) | `tcp/127.0.0.1:7447` |
//! | `SAFETHING_ZENOH_CONNECT` | endpoints to connect to, comma-separated | `tcp/192.0.2.7:7447` |
//! | `SAFETHING_ZENOH_MULTICAST` | multicast scouting on the LAN: `on`/`off` | `off` |
//! | `SAFETHING_ZENOH_GOSSIP` | gossip scouting through connected peers: `on`/`off` | `on` |
//! | `SAFETHING_ZENOH_LEASE` | link lease: how soon a frozen peer is declared gone | `2s`, `500ms` |
//! | `SAFETHING_ZENOH_CONFIG` | a Zenoh JSON5 config file to start from | `/etc/safething/zenoh.json5` |

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The environment variables [`ZenohConfig::with_env`] reads.
pub mod env {
    /// `peer`, `client` or `router`.
    pub const MODE: &str = "SAFETHING_ZENOH_MODE";
    /// Endpoints to listen on, comma-separated.
    pub const LISTEN: &str = "SAFETHING_ZENOH_LISTEN";
    /// Endpoints to connect to, comma-separated.
    pub const CONNECT: &str = "SAFETHING_ZENOH_CONNECT";
    /// Multicast scouting: `on`/`off` (also `true`/`false`, `1`/`0`, `yes`/`no`).
    pub const MULTICAST: &str = "SAFETHING_ZENOH_MULTICAST";
    /// Gossip scouting: `on`/`off`.
    pub const GOSSIP: &str = "SAFETHING_ZENOH_GOSSIP";
    /// Link lease, e.g. `2s` or `2000` (milliseconds).
    pub const LEASE: &str = "SAFETHING_ZENOH_LEASE";
    /// A Zenoh JSON5 configuration file.
    pub const CONFIG: &str = "SAFETHING_ZENOH_CONFIG";
}

/// The endpoint where things on one machine meet by convention (Zenoh's usual port): the
/// `safething router`, or the first device, listens there; everyone else connects to it.
pub const DEFAULT_ENDPOINT: &str = "tcp/127.0.0.1:7447";

/// The transports this build can use in endpoints.
pub const PROTOCOLS: &[&str] = &["tcp", "unixsock-stream"];

/// What a session is in the Zenoh network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Talks directly to other peers; routes nothing for others (the default).
    #[default]
    Peer,
    /// Talks only through one router or peer it connects to. Things that reach each other
    /// only through a router are its clients: Zenoh peers are expected to connect to each
    /// other directly (a router tells them where), and a router does not relay between them.
    Client,
    /// Routes for its clients and between sites: a `zenohd`-style router.
    Router,
}

impl Mode {
    /// The name Zenoh uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Peer => "peer",
            Mode::Client => "client",
            Mode::Router => "router",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Mode, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "peer" => Ok(Mode::Peer),
            "client" => Ok(Mode::Client),
            "router" => Ok(Mode::Router),
            _ => Err(ConfigError::Invalid(format!(
                "unknown mode `{s}` (expected peer, client or router)"
            ))),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An endpoint that is not `<protocol>/<address>` with a protocol this build supports.
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A Zenoh config file that cannot be read or parsed.
    #[error("Zenoh config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An environment variable with a value that cannot be used.
    #[error("environment variable {var}={value:?}: {reason}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Any other inconsistency.
    #[error("{0}")]
    Invalid(String),
}

/// How to open a Zenoh session. Every knob left unset keeps its default (or the config
/// file's value, when a file is given).
///
/// ```
/// use safething::transport::zenoh::{Mode, ZenohConfig};
/// let config = ZenohConfig::new()
///     .mode(Mode::Peer)
///     .listen(["tcp/127.0.0.1:7447"])
///     .multicast(false);
/// assert_eq!(config.listen_endpoints(), vec!["tcp/127.0.0.1:7447".to_owned()]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZenohConfig {
    mode: Option<Mode>,
    listen: Option<Vec<String>>,
    connect: Option<Vec<String>>,
    multicast: Option<bool>,
    gossip: Option<bool>,
    lease: Option<Duration>,
    file: Option<PathBuf>,
    inline_puts: bool,
}

impl ZenohConfig {
    /// The defaults: a loopback-only peer (see the module documentation).
    pub fn new() -> ZenohConfig {
        ZenohConfig::default()
    }

    /// Starts from a Zenoh JSON5 configuration file; knobs set afterwards override it.
    pub fn from_file(path: impl Into<PathBuf>) -> ZenohConfig {
        ZenohConfig::new().file(path)
    }

    /// The defaults with the `SAFETHING_ZENOH_*` environment variables applied.
    pub fn from_env() -> Result<ZenohConfig, ConfigError> {
        ZenohConfig::new().with_env()
    }

    /// Peer, client or router.
    pub fn mode(mut self, mode: Mode) -> ZenohConfig {
        self.mode = Some(mode);
        self
    }

    /// Endpoints to listen on (replacing any set before), e.g. `tcp/127.0.0.1:7447` or
    /// `unixsock-stream//tmp/safething.sock`. An empty list listens nowhere; a client never
    /// listens.
    pub fn listen<S: Into<String>>(
        mut self,
        endpoints: impl IntoIterator<Item = S>,
    ) -> ZenohConfig {
        self.listen = Some(endpoints.into_iter().map(Into::into).collect());
        self
    }

    /// Endpoints of peers or routers to connect to (replacing any set before).
    pub fn connect<S: Into<String>>(
        mut self,
        endpoints: impl IntoIterator<Item = S>,
    ) -> ZenohConfig {
        self.connect = Some(endpoints.into_iter().map(Into::into).collect());
        self
    }

    /// Multicast scouting: find peers on the LAN without configuring them (default off).
    pub fn multicast(mut self, on: bool) -> ZenohConfig {
        self.multicast = Some(on);
        self
    }

    /// Gossip scouting: learn of peers through the connected ones (default on; peers in a star
    /// around one listener only reach each other with it).
    pub fn gossip(mut self, on: bool) -> ZenohConfig {
        self.gossip = Some(on);
        self
    }

    /// Link lease: how long a silent (frozen, partitioned) peer keeps its link before it is
    /// declared gone and its things go offline. Zenoh's default is 10 s. A killed process is
    /// seen at once (its connections close), whatever the lease.
    pub fn lease(mut self, lease: Duration) -> ZenohConfig {
        self.lease = Some(lease);
        self
    }

    /// Puts made by the publishing task itself instead of the session's sender thread (default
    /// off): a lone message arrives a few microseconds sooner, but a put then blocks the
    /// task's worker thread while the link is congested (see
    /// [`ZenohTransport::with_inline_puts`](super::ZenohTransport::with_inline_puts)).
    pub fn inline_puts(mut self, on: bool) -> ZenohConfig {
        self.inline_puts = on;
        self
    }

    /// Whether puts are made by the publishing task ([`inline_puts`](Self::inline_puts)).
    pub fn inline_puts_value(&self) -> bool {
        self.inline_puts
    }

    /// A Zenoh JSON5 configuration file to start from.
    pub fn file(mut self, path: impl Into<PathBuf>) -> ZenohConfig {
        self.file = Some(path.into());
        self
    }

    /// Applies the `SAFETHING_ZENOH_*` environment variables over this configuration.
    pub fn with_env(self) -> Result<ZenohConfig, ConfigError> {
        self.with_vars(|name| std::env::var(name).ok())
    }

    /// Applies variables looked up with `var` (the environment, or a map in tests).
    pub fn with_vars(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ZenohConfig, ConfigError> {
        if let Some(value) = var(env::CONFIG).filter(|v| !v.trim().is_empty()) {
            self.file = Some(PathBuf::from(value.trim()));
        }
        if let Some(value) = var(env::MODE) {
            self.mode = Some(value.parse().map_err(|e: ConfigError| ConfigError::Env {
                var: env::MODE,
                value: value.clone(),
                reason: e.to_string(),
            })?);
        }
        if let Some(value) = var(env::LISTEN) {
            self.listen = Some(split_list(&value));
        }
        if let Some(value) = var(env::CONNECT) {
            self.connect = Some(split_list(&value));
        }
        if let Some(value) = var(env::MULTICAST) {
            self.multicast = Some(parse_switch(env::MULTICAST, &value)?);
        }
        if let Some(value) = var(env::GOSSIP) {
            self.gossip = Some(parse_switch(env::GOSSIP, &value)?);
        }
        if let Some(value) = var(env::LEASE) {
            let lease = parse_duration(&value).map_err(|reason| ConfigError::Env {
                var: env::LEASE,
                value: value.clone(),
                reason,
            })?;
            self.lease = Some(lease);
        }
        Ok(self)
    }

    /// The mode the session will have (the config file's when it sets one and the knob is not
    /// set, else peer).
    pub fn mode_value(&self) -> Mode {
        self.mode.unwrap_or_default()
    }

    /// The listen endpoints set from code or the environment (empty when left to the default
    /// or the config file).
    pub fn listen_endpoints(&self) -> Vec<String> {
        self.listen.clone().unwrap_or_default()
    }

    /// The connect endpoints set from code or the environment.
    pub fn connect_endpoints(&self) -> Vec<String> {
        self.connect.clone().unwrap_or_default()
    }

    /// Whether multicast scouting will be on.
    pub fn multicast_value(&self) -> bool {
        self.multicast.unwrap_or(false)
    }

    /// The config file, if any.
    pub fn file_path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Checks every endpoint and builds the Zenoh configuration.
    pub fn to_zenoh(&self) -> Result<::zenoh::Config, ConfigError> {
        let mut config = match &self.file {
            Some(path) => ::zenoh::Config::from_file(path).map_err(|e| ConfigError::File {
                path: path.clone(),
                reason: first_line(&e.to_string()),
            })?,
            None => ::zenoh::Config::default(),
        };
        let from_file = self.file.is_some();
        let set = |config: &mut ::zenoh::Config, key: &str, value: String| {
            config
                .insert_json5(key, &value)
                .map_err(|e| ConfigError::Invalid(format!("{key} = {value}: {e}")))
        };
        let mode = match (self.mode, from_file) {
            (Some(mode), _) => Some(mode),
            (None, false) => Some(Mode::Peer),
            (None, true) => None,
        };
        if let Some(mode) = mode {
            set(&mut config, "mode", json_string(mode.as_str()))?;
        }
        let listen = match (&self.listen, from_file) {
            (Some(list), _) => Some(list.clone()),
            // Loopback only unless told otherwise; a router listens where things meet.
            (None, false) => Some(match mode.unwrap_or_default() {
                Mode::Peer => vec!["tcp/127.0.0.1:0".to_owned()],
                Mode::Router => vec![DEFAULT_ENDPOINT.to_owned()],
                Mode::Client => Vec::new(),
            }),
            (None, true) => None,
        };
        if let Some(list) = &listen {
            check_endpoints(list)?;
            if mode == Some(Mode::Client) {
                // A client only connects: what it was told to listen on does not apply.
                if !list.is_empty() {
                    tracing::debug!(endpoints = ?list, "a Zenoh client does not listen");
                }
                set(&mut config, "listen/endpoints", "[]".to_owned())?;
            } else {
                set(&mut config, "listen/endpoints", json_list(list))?;
            }
        }
        if let Some(list) = &self.connect {
            check_endpoints(list)?;
            set(&mut config, "connect/endpoints", json_list(list))?;
        }
        let multicast = self.multicast.or((!from_file).then_some(false));
        if let Some(on) = multicast {
            set(&mut config, "scouting/multicast/enabled", on.to_string())?;
        }
        let gossip = self.gossip.or((!from_file).then_some(true));
        if let Some(on) = gossip {
            set(&mut config, "scouting/gossip/enabled", on.to_string())?;
        }
        if let Some(lease) = self.lease {
            let ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX).max(1);
            set(&mut config, "transport/link/tx/lease", ms.to_string())?;
        }
        // With a config file, Zenoh itself checks what the file adds.
        if !from_file
            && mode == Some(Mode::Client)
            && self.connect_endpoints().is_empty()
            && multicast != Some(true)
        {
            return Err(ConfigError::Invalid(
                "client mode needs an endpoint to connect to (a router or a peer), or multicast \
                 scouting"
                    .into(),
            ));
        }
        Ok(config)
    }
}

/// Checks that `endpoint` is `<protocol>/<address>` with a protocol of this build, and for TCP
/// a `host:port` address.
pub fn check_endpoint(endpoint: &str) -> Result<(), ConfigError> {
    let bad = |reason: String| ConfigError::Endpoint {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let Some((protocol, address)) = endpoint.split_once('/') else {
        return Err(bad(format!(
            "expected <protocol>/<address>, e.g. {DEFAULT_ENDPOINT}"
        )));
    };
    if !PROTOCOLS.contains(&protocol) {
        return Err(bad(format!(
            "unsupported protocol `{protocol}` (this build supports {})",
            PROTOCOLS.join(", ")
        )));
    }
    // Zenoh's own parser: metadata (`?`) and configuration (`#`) parts.
    ::zenoh::config::EndPoint::from_str(endpoint).map_err(|e| bad(first_line(&e.to_string())))?;
    let address = address.split(['?', '#']).next().unwrap_or_default();
    if address.is_empty() {
        return Err(bad("the address is empty".into()));
    }
    if protocol == "tcp" {
        let Some((host, port)) = address.rsplit_once(':') else {
            return Err(bad(format!(
                "a TCP address needs a port, e.g. {DEFAULT_ENDPOINT}"
            )));
        };
        if host.is_empty() {
            return Err(bad("the host is empty".into()));
        }
        if port.parse::<u16>().is_err() {
            return Err(bad(format!("`{port}` is not a port number")));
        }
    }
    Ok(())
}

fn check_endpoints(list: &[String]) -> Result<(), ConfigError> {
    list.iter().try_for_each(|e| check_endpoint(e))
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_switch(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(ConfigError::Env {
            var,
            value: value.to_owned(),
            reason: "expected on or off".into(),
        }),
    }
}

/// Parses a duration as definitions write it (`2s`, `500ms`, `1m30s`), or a bare number of
/// milliseconds.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| format!("`{v}` is too large"));
    }
    safething_ir::duration::parse(v)
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn json_list(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_stay_on_loopback_without_multicast() {
        let c = ZenohConfig::new().to_zenoh().unwrap();
        assert_eq!(c.get_json("mode").unwrap(), "\"peer\"");
        assert_eq!(
            c.get_json("listen/endpoints").unwrap(),
            "[\"tcp/127.0.0.1:0\"]"
        );
        assert_eq!(c.get_json("scouting/multicast/enabled").unwrap(), "false");
        assert_eq!(c.get_json("scouting/gossip/enabled").unwrap(), "true");
        let r = ZenohConfig::new().mode(Mode::Router).to_zenoh().unwrap();
        assert_eq!(
            r.get_json("listen/endpoints").unwrap(),
            "[\"tcp/127.0.0.1:7447\"]"
        );
    }

    #[test]
    fn environment_overrides_code() {
        let c = ZenohConfig::new()
            .listen(["tcp/127.0.0.1:1"])
            .with_vars(vars(&[
                (env::MODE, "Router"),
                (
                    env::LISTEN,
                    "tcp/127.0.0.1:7000, unixsock-stream//tmp/x.sock",
                ),
                (env::CONNECT, ""),
                (env::MULTICAST, "on"),
                (env::LEASE, "2s"),
            ]))
            .unwrap();
        assert_eq!(c.mode_value(), Mode::Router);
        assert_eq!(
            c.listen_endpoints(),
            vec!["tcp/127.0.0.1:7000", "unixsock-stream//tmp/x.sock"]
        );
        assert!(c.multicast_value());
        let z = c.to_zenoh().unwrap();
        assert_eq!(z.get_json("transport/link/tx/lease").unwrap(), "2000");
        assert_eq!(z.get_json("scouting/multicast/enabled").unwrap(), "true");
    }

    #[test]
    fn bad_values_are_named() {
        let e = ZenohConfig::new()
            .with_vars(vars(&[(env::MULTICAST, "maybe")]))
            .unwrap_err();
        assert!(e.to_string().contains("SAFETHING_ZENOH_MULTICAST"), "{e}");
        let e = ZenohConfig::new()
            .with_vars(vars(&[(env::MODE, "server")]))
            .unwrap_err();
        assert!(e.to_string().contains("unknown mode `server`"), "{e}");
        for (endpoint, needle) in [
            ("127.0.0.1:7447", "expected <protocol>/<address>"),
            ("udp/127.0.0.1:7447", "unsupported protocol `udp`"),
            ("tcp/127.0.0.1", "needs a port"),
            ("tcp/127.0.0.1:99999", "not a port number"),
            ("tcp/:7447", "host is empty"),
        ] {
            let e = ZenohConfig::new()
                .connect([endpoint])
                .to_zenoh()
                .unwrap_err();
            assert!(e.to_string().contains(needle), "{endpoint}: {e}");
        }
        let e = ZenohConfig::new()
            .mode(Mode::Client)
            .to_zenoh()
            .unwrap_err();
        assert!(e.to_string().contains("client mode needs"), "{e}");
    }

    #[test]
    fn config_files_are_the_base() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("z.json5");
        std::fs::write(
            &path,
            "{ mode: 'client', connect: { endpoints: ['tcp/127.0.0.1:7447'] }, \
             scouting: { multicast: { enabled: false } } }",
        )
        .unwrap();
        let z = ZenohConfig::from_file(&path).to_zenoh().unwrap();
        assert_eq!(z.get_json("mode").unwrap(), "\"client\"");
        let z = ZenohConfig::from_file(&path)
            .mode(Mode::Peer)
            .to_zenoh()
            .unwrap();
        assert_eq!(z.get_json("mode").unwrap(), "\"peer\"");
        std::fs::write(&path, "{ mode: 'client', ").unwrap();
        let e = ZenohConfig::from_file(&path).to_zenoh().unwrap_err();
        assert!(e.to_string().starts_with("Zenoh config file"), "{e}");
        let e = ZenohConfig::from_file(dir.path().join("missing.json5"))
            .to_zenoh()
            .unwrap_err();
        assert!(e.to_string().contains("missing.json5"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 parsecs").is_err());
    }
}
