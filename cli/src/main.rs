//! `safething`: the console for things on a SAFEthing network.
//!
//! ```text
//! safething list                               every thing that answers, with state and presence
//! safething describe ID                        a thing's description and affordances
//! safething get ID ATTR [--history]            an attribute's current value (or its history);
//!                                              from a store when the device is offline
//! safething history ID ATTR                    an attribute's history (the device's, with
//!                                              older values from stores)
//! safething watch ID ATTR [--filter "lt 5"]    follow an attribute's changes (--from POSITION)
//! safething events ID EVENT [--filter ..]      follow an event's notifications
//! safething call ID ACTION [JSON] [--wait]     run an action (and follow it to its end)
//! safething set ID ATTR JSON                   write a writable attribute
//! safething publish ID | disable ID            owner operations
//! safething keygen | whoami                    this console's identity
//! safething router [--listen ENDPOINT]         a Zenoh router where peers meet
//! safething store --dir DIR                    keep what things publish, serve it when they are offline
//! safething gateway [--listen ADDR]            HTTP + WebSocket gateway and web console
//! ```
//!
//! Global options: `--connect`, `--listen`, `--config` (a Zenoh JSON5 file), `--mode`,
//! `--identity PATH`, `--json`, `--within DURATION`. The network defaults to connecting to
//! `tcp/127.0.0.1:7447`, and the `SAFETHING_ZENOH_*` variables apply under the flags.
//! Exit status: 0 success, 1 runtime or input errors, 2 usage errors.

mod commands;
mod gateway;
mod net;
mod out;
mod show;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use safething::client::Position;

/// Talk to SAFEthing things over the network.
#[derive(Debug, Parser)]
#[command(name = "safething", version, about, max_term_width = 100)]
pub struct Cli {
    /// Endpoint of a peer or router to connect to (repeatable; default tcp/127.0.0.1:7447)
    #[arg(long, global = true, value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// Endpoint to listen on (repeatable; default a loopback port, or 7447 for `router`); for
    /// `gateway`, its HTTP address (default 127.0.0.1:8080)
    #[arg(long, global = true, value_name = "ENDPOINT")]
    listen: Vec<String>,
    /// A Zenoh JSON5 configuration file to start from
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Zenoh mode: peer (default), client or router
    #[arg(long, global = true, value_name = "MODE")]
    mode: Option<String>,
    /// Identity file [default: $SAFETHING_IDENTITY or ~/.config/safething/identity.key]
    #[arg(long, global = true, value_name = "PATH")]
    identity: Option<PathBuf>,
    /// The keys of things met before [default: $SAFETHING_KNOWN_THINGS, else `known_things`
    /// beside the identity file]
    #[arg(long, global = true, value_name = "PATH")]
    known_things: Option<PathBuf>,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    json: bool,
    /// How long to wait for peers and things to answer
    #[arg(long, global = true, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    within: Duration,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every thing that answers, with its lifecycle state and whether it is online
    List,
    /// Show a thing's description: who it is, its state, attributes, events and actions
    Describe {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
    },
    /// Read an attribute's current value
    Get {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The attribute
        attribute: String,
        /// Print the remembered values instead (attributes that keep a history)
        #[arg(long)]
        history: bool,
    },
    /// An attribute's remembered values: the device's, preceded by older ones a store kept (a
    /// store's alone when the device is offline)
    History {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The attribute
        attribute: String,
    },
    /// Follow an attribute: its current value, then every change that passes the filter
    Watch {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The attribute
        attribute: String,
        /// A filter such as "lt 5", "ge 90", "step 10", "level gt 90", "any"
        #[arg(long)]
        filter: Option<String>,
        /// Stop after this many values
        #[arg(long)]
        count: Option<u64>,
        /// Resume after this position (the "position" a --json line printed): what the stores
        /// kept since comes first, what they lack is reported as a gap
        #[arg(long, value_parser = position)]
        from: Option<Position>,
    },
    /// Follow an event's notifications that pass the filter
    Events {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The event
        event: String,
        /// A filter on the event's data, such as "level ge 90"
        #[arg(long)]
        filter: Option<String>,
        /// Stop after this many notifications
        #[arg(long)]
        count: Option<u64>,
        /// Resume after this position (the "position" a --json line printed): what the stores
        /// kept since comes first, what they lack is reported as a gap
        #[arg(long, value_parser = position)]
        from: Option<Position>,
    },
    /// Request an action; with --wait, follow it to its final state and print the output
    Call {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The action
        action: String,
        /// The input as JSON (default null)
        input: Option<String>,
        /// Follow the request to its end
        #[arg(long)]
        wait: bool,
        /// Deadline of the action (overrides the definition's)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
    /// Write a writable attribute (the device decides)
    Set {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The attribute
        attribute: String,
        /// The value as JSON
        value: String,
    },
    /// Make a thing operative (owner only)
    Publish {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
    },
    /// Take a thing out of service (owner only)
    Disable {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
    },
    /// Become the owner of an unclaimed thing with the one-time token it shows
    ///
    /// With the whole `safething:claim?id=..&key=..&token=..` URI (or `--key`), the thing's
    /// key is pinned from it: a thing that answers with another key is refused, and the key is
    /// kept in the known-things store.
    Claim {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The claim token (or the whole `safething:claim?...` URI)
        token: String,
        /// The thing's public key (`st...`), if the token came without its URI
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Forget the key kept for a thing in the known-things store, to accept a new one (after
    /// the thing was re-provisioned); the next contact pins the key it answers with
    Forget {
        /// The thing's id
        id: String,
    },
    /// Add a member to a thing's group (owner only)
    Grant {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The member's public key (`st...`, as `whoami` prints it)
        member: String,
    },
    /// Remove a member from a thing's group; the group key is replaced (owner only)
    Revoke {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The member's public key
        member: String,
    },
    /// Hand a thing to a new owner; both keys are replaced (owner only)
    Transfer {
        /// The thing's id
        #[arg(value_parser = thing_id)]
        id: String,
        /// The new owner's public key
        owner: String,
    },
    /// Create a new identity file (refuses to overwrite one)
    Keygen,
    /// Print this console's public key (creating the identity on first use)
    Whoami,
    /// Run a Zenoh router: peers and clients that connect to it reach each other through it
    Router,
    /// Keep what things publish (attribute updates, events, request states, descriptions) in a
    /// database, and serve it to clients when the devices are offline (it holds no key)
    Store {
        /// The directory of the database (created if missing)
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// At most this many frames per attribute, event or request [default: 1000]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max_count: Option<u64>,
        /// Drop frames kept longer than this, the latest of each stream excepted [default: 7d]
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        max_age: Option<Duration>,
        /// At most this many bytes of frames per stream [default: 4194304]
        #[arg(long, value_name = "BYTES")]
        max_bytes: Option<u64>,
        /// At most this many bytes of frames in all; above it the largest streams lose their
        /// oldest frames first, each keeping its newest [default: 1073741824]
        #[arg(long, value_name = "BYTES")]
        max_total_bytes: Option<u64>,
    },
    /// Serve the network over HTTP and WebSocket, with the web console, for browsers and small
    /// devices (a relay: it holds no key and cannot act as anyone)
    ///
    /// `--listen ADDR` is the HTTP address (default 127.0.0.1:8080); the network options
    /// (`--connect`, `--mode`, `--config`, `SAFETHING_ZENOH_*`) say how it joins the network.
    Gateway {
        /// Serve HTTPS with this PEM certificate chain (needs --tls-key)
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Let pages of another origin (`http://host:port`) use the gateway (repeatable)
        #[arg(long, value_name = "ORIGIN")]
        allow_origin: Vec<String>,
        /// Also answer to requests for this host name, e.g. a LAN DNS name (repeatable; the
        /// loopback names and the --listen host are always answered, others refused)
        #[arg(long, value_name = "NAME")]
        allow_host: Vec<String>,
        /// The longest a query may stay open, in milliseconds (default 60000: one minute)
        #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
        max_query_ms: Option<u64>,
    },
}

/// A thing id, checked while parsing the command line: a malformed one is a usage error, not
/// a thing to look for on the network until the deadline.
fn thing_id(s: &str) -> Result<String, String> {
    safething::ir::ThingId::new(s)
        .map(|id| id.to_string())
        .map_err(|e| e.to_string())
}

fn position(s: &str) -> Result<Position, String> {
    serde_json::from_str(s)
        .map_err(|e| format!("expected {{\"epoch\":E,\"seq\":S,\"ts\":T}} ({e})"))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    safething::transport::zenoh::parse_duration(s)
}

/// A failure to report: exit status 1, or 2 for a usage error (as clap's own).
#[derive(Debug)]
pub struct Failure {
    message: String,
    usage: bool,
}

impl Failure {
    /// A failure of the command: exit status 1.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            usage: false,
        }
    }

    /// A command line that cannot work whatever the network does (e.g. a malformed thing id):
    /// exit status 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            usage: true,
        }
    }
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::new(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors exit 2; --help and --version exit 0.
        Err(e) => e.exit(),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,zenoh=error".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { message, usage }) => {
            eprintln!("error: {message}");
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
