//! Joining the network: the Zenoh configuration from flags and environment, the console's
//! identity, and finding things with clear errors when nothing answers.

use std::path::PathBuf;
use std::time::Duration;

use safething::client::{Client, ClientConfig, RemoteThing};
use safething::ir::ThingId;
use safething::transport::zenoh::{DEFAULT_ENDPOINT, Mode, ZenohConfig, ZenohTransport};
use safething::{Error, Identity, PublicKey};

use crate::{Cli, Failure};

/// The console's session and client.
pub struct Net {
    pub transport: ZenohTransport,
    pub client: Client,
    /// Where we looked, for messages.
    pub place: String,
    pub within: Duration,
}

/// The Zenoh configuration: defaults, then `SAFETHING_ZENOH_*`, then the flags. With no
/// endpoint to connect to and no config file, a peer or client connects to the usual meeting
/// point, `tcp/127.0.0.1:7447`.
pub fn config(cli: &Cli, router: bool) -> Result<ZenohConfig, Failure> {
    zenoh_config(cli, router, &cli.listen)
}

/// [`config`] with the Zenoh listen endpoints given apart (the gateway's `--listen` is HTTP).
pub fn zenoh_config(cli: &Cli, router: bool, listen: &[String]) -> Result<ZenohConfig, Failure> {
    let mut config = ZenohConfig::new().with_env()?;
    if let Some(file) = &cli.config {
        config = config.file(file);
    }
    if let Some(mode) = &cli.mode {
        config = config.mode(mode.parse::<Mode>()?);
    }
    if router {
        config = config.mode(Mode::Router);
    }
    if !listen.is_empty() {
        config = config.listen(split(listen));
    }
    if !cli.connect.is_empty() {
        config = config.connect(split(&cli.connect));
    }
    if config.connect_endpoints().is_empty()
        && config.file_path().is_none()
        && config.mode_value() != Mode::Router
    {
        config = config.connect([DEFAULT_ENDPOINT]);
    }
    Ok(config)
}

fn split(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Describes where the console looks, for messages: the connect endpoints, else the config
/// file, else the listen endpoints.
pub fn place(config: &ZenohConfig) -> String {
    let connect = config.connect_endpoints();
    if !connect.is_empty() {
        return connect.join(", ");
    }
    if let Some(file) = config.file_path() {
        return format!("the network of {}", file.display());
    }
    config.listen_endpoints().join(", ")
}

/// The identity file: `--identity`, else `$SAFETHING_IDENTITY`, else
/// `$XDG_CONFIG_HOME/safething/identity.key`, else `~/.config/safething/identity.key`.
pub fn identity_path(cli: &Cli) -> Result<PathBuf, Failure> {
    if let Some(path) = &cli.identity {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os("SAFETHING_IDENTITY").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let dir = safething::identity::config_dir().ok_or_else(|| {
        Failure::new("no home directory to keep the identity in: pass --identity PATH")
    })?;
    Ok(dir.join("identity.key"))
}

/// The known-things store: `--known-things`, else `$SAFETHING_KNOWN_THINGS`, else
/// `known_things` beside the identity file (so each identity has its own).
pub fn known_things_path(cli: &Cli) -> Result<PathBuf, Failure> {
    if let Some(path) = &cli.known_things {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os("SAFETHING_KNOWN_THINGS").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let identity = identity_path(cli)?;
    Ok(identity
        .parent()
        .map(|dir| dir.join("known_things"))
        .unwrap_or_else(|| PathBuf::from("known_things")))
}

/// Opens the session, waits for a peer or router, and builds the client (which keeps the keys
/// of the things it meets in the known-things store, and trusts `pin` when given).
pub async fn join(cli: &Cli, pin: Option<(ThingId, PublicKey)>) -> Result<Net, Failure> {
    let identity = Identity::load_or_create(identity_path(cli)?)?;
    let known_things = known_things_path(cli)?;
    let config = config(cli, false)?;
    let place = place(&config);
    let transport = ZenohTransport::open(&config).await?;
    if !transport.wait_for_neighbours(cli.within).await {
        let _ = transport.close().await;
        return Err(Failure::new(format!(
            "no things answered on {place} within {}: nothing is reachable there (start a \
             device or `safething router`, or pass --connect)",
            human(cli.within)
        )));
    }
    let mut builder = Client::builder()
        .transport(transport.clone())
        .identity(identity)
        .known_things(known_things);
    if let Some((id, key)) = pin {
        builder = builder.trust(id, key);
    }
    let client = builder
        .config(ClientConfig::default().with_discovery_timeout(cli.within))
        .build()
        .await?;
    Ok(Net {
        transport,
        client,
        place,
        within: cli.within,
    })
}

impl Net {
    /// Connects to a thing, retrying while the network settles (a peer learnt by gossip may
    /// connect a moment after the first one).
    pub async fn thing(&self, id: &str) -> Result<RemoteThing, Failure> {
        let deadline = tokio::time::Instant::now() + self.within;
        loop {
            match self.client.thing(id).await {
                Ok(thing) => return Ok(thing),
                // No device can have a malformed id: asking again will not help.
                Err(e @ Error::InvalidThingId(_)) => return Err(Failure::usage(e.to_string())),
                Err(Error::UnknownThing(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(Error::UnknownThing(_)) => {
                    return Err(Failure::new(format!(
                        "no thing `{id}` answered on {} within {}",
                        self.place,
                        human(self.within)
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Like [`thing`](Self::thing), falling back to a store's copy of the description when
    /// the device does not answer (accepted only when signed by the key already pinned).
    pub async fn thing_or_stored(&self, id: &str) -> Result<RemoteThing, Failure> {
        match self.thing(id).await {
            Ok(thing) => Ok(thing),
            // The device was asked already (with retries): only the store is left.
            Err(device) => match self.client.stored_thing(id).await {
                Ok(Some(thing)) => Ok(thing),
                Ok(None) | Err(_) => Err(device),
            },
        }
    }

    /// Leaves the network cleanly.
    pub async fn close(self) {
        self.client.shutdown();
        let _ = self.transport.close().await;
    }
}

/// `1s`, `1.5s`, `250ms`.
pub fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
