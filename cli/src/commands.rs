//! One function per subcommand.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use safething::client::InvokeOptions;
use safething::ir::ThingId;
use safething::known_things::KnownThings;
use safething::transport::zenoh::ZenohTransport;
use safething::wire::ActionState;
use safething::{Filter, Identity};

use crate::net::{self, Net};
use crate::out::outln;
use crate::show;
use crate::{Cli, Command, Failure};

/// Runs the command.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Keygen => keygen(&cli),
        Command::Whoami => whoami(&cli),
        Command::Router => router(&cli).await,
        Command::Store {
            dir,
            max_count,
            max_age,
            max_bytes,
            max_total_bytes,
        } => {
            let retention =
                crate::store::retention(*max_count, *max_age, *max_bytes, *max_total_bytes);
            crate::store::run(&cli, dir, retention).await
        }
        Command::Gateway { .. } => crate::gateway::run(&cli).await,
        Command::Forget { id } => forget(&cli, id),
        _ => {
            let net = net::join(&cli, claim_pin(&cli.command)?).await?;
            let result = on_network(&cli, &net).await;
            net.close().await;
            result
        }
    }
}

async fn on_network(cli: &Cli, net: &Net) -> Result<(), Failure> {
    let json = cli.json;
    match &cli.command {
        Command::List => list(net, json).await,
        Command::Describe { id } => {
            let thing = net.thing(id).await?;
            show::description(&thing.description(), thing.is_online(), json)
        }
        Command::Get {
            id,
            attribute,
            history,
        } => {
            let thing = net.thing_or_stored(id).await?;
            if *history {
                let entries = thing.history_with_source(attribute).await?;
                show::history(id, attribute, &entries, json)
            } else {
                let reading = thing.read_with_source(attribute).await?;
                show::reading(id, attribute, &reading, json)
            }
        }
        Command::History { id, attribute } => {
            let thing = net.thing_or_stored(id).await?;
            let entries = thing.history_with_source(attribute).await?;
            show::history(id, attribute, &entries, json)
        }
        Command::Watch {
            id,
            attribute,
            filter,
            count,
            from,
        } => {
            let filter = parse_filter(filter.as_deref())?;
            let thing = net.thing(id).await?;
            let mut watch = match from {
                Some(from) => thing.watch_from(attribute, filter, *from).await?,
                None => thing.watch(attribute, filter).await?,
            };
            let mut seen = 0;
            while count.is_none_or(|c| seen < c) {
                let update = tokio::select! {
                    u = watch.next() => u,
                    _ = tokio::signal::ctrl_c() => None,
                };
                let Some(update) = update else { break };
                match update {
                    Ok(u) => show::update(attribute, &u, watch.position(), json)?,
                    Err(gap @ safething::Error::Gap { .. }) => show::gap(&gap),
                    Err(e) => return Err(e.into()),
                }
                seen += 1;
            }
            Ok(())
        }
        Command::Events {
            id,
            event,
            filter,
            count,
            from,
        } => {
            let filter = parse_filter(filter.as_deref())?;
            let thing = net.thing(id).await?;
            let mut events = match from {
                Some(from) => thing.subscribe_from(event, filter, *from).await?,
                None => thing.subscribe(event, filter).await?,
            };
            let mut seen = 0;
            while count.is_none_or(|c| seen < c) {
                let delivery = tokio::select! {
                    d = events.next() => d,
                    _ = tokio::signal::ctrl_c() => None,
                };
                let Some(delivery) = delivery else { break };
                match delivery {
                    Ok(d) => show::event(event, &d, events.position(), json)?,
                    Err(gap @ safething::Error::Gap { .. }) => show::gap(&gap),
                    Err(e) => return Err(e.into()),
                }
                seen += 1;
            }
            Ok(())
        }
        Command::Call {
            id,
            action,
            input,
            wait,
            timeout,
        } => call(net, id, action, input.as_deref(), *wait, *timeout, json).await,
        Command::Set {
            id,
            attribute,
            value,
        } => {
            let value = parse_json("value", value)?;
            let thing = net.thing(id).await?;
            let reading = thing.write(attribute, value).await?;
            show::reading(id, attribute, &reading.into(), json)
        }
        Command::Publish { id } => {
            let thing = net.thing(id).await?;
            show::lifecycle(&thing.publish().await?, json)
        }
        Command::Disable { id } => {
            let thing = net.thing(id).await?;
            show::lifecycle(&thing.disable().await?, json)
        }
        Command::Claim { id, token, .. } => {
            let thing = net.thing(id).await?;
            let description = thing.claim(claim_token(token)).await?;
            show::parties(&description, json)
        }
        Command::Grant { id, member } => {
            let thing = net.thing(id).await?;
            show::parties(&thing.grant(parse_key(member)?).await?, json)
        }
        Command::Revoke { id, member } => {
            let thing = net.thing(id).await?;
            show::parties(&thing.revoke(parse_key(member)?).await?, json)
        }
        Command::Transfer { id, owner } => {
            let thing = net.thing(id).await?;
            show::parties(&thing.transfer(parse_key(owner)?).await?, json)
        }
        Command::Keygen
        | Command::Whoami
        | Command::Router
        | Command::Store { .. }
        | Command::Gateway { .. }
        | Command::Forget { .. } => Ok(()),
    }
}

async fn list(net: &Net, json: bool) -> Result<(), Failure> {
    // Things learnt by gossip connect a moment after the first peer: look until something
    // answers or the time is up.
    let deadline = tokio::time::Instant::now() + net.within;
    let mut things = net.client.discover().await?;
    while things.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        things = net.client.discover().await?;
    }
    if things.is_empty() && !json {
        eprintln!(
            "no things answered on {} within {}",
            net.place,
            net::human(net.within)
        );
    }
    show::things(&things, json)
}

async fn call(
    net: &Net,
    id: &str,
    action: &str,
    input: Option<&str>,
    wait: bool,
    timeout: Option<Duration>,
    json: bool,
) -> Result<(), Failure> {
    let input = match input {
        Some(text) => parse_json("input", text)?,
        None => Value::Null,
    };
    let thing = net.thing(id).await?;
    let handle = thing
        .invoke_with(
            action,
            input,
            match timeout {
                Some(timeout) => InvokeOptions::default().with_timeout(timeout),
                None => InvokeOptions::default(),
            },
        )
        .await?;
    if !wait {
        // Until the device has answered, the request may still be refused.
        let mut states = std::pin::pin!(handle.states());
        while let Some(state) = states.next().await {
            if state != ActionState::Requested {
                break;
            }
        }
        return match handle.state() {
            ActionState::Requested => Err(handle
                .output()
                .await
                .err()
                .map_or_else(|| Failure::new("no answer"), Failure::from)),
            ActionState::Rejected { problem } => Err(Failure::new(format!("rejected: {problem}"))),
            state => show::request(handle.id(), action, &state, json),
        };
    }
    let mut states = std::pin::pin!(handle.states());
    while let Some(state) = states.next().await {
        if !json {
            outln!("{}", state.name());
        }
    }
    match handle.output().await {
        Ok(output) => {
            if json {
                show::print_json(&json!({
                    "request": handle.id(),
                    "action": action,
                    "state": "done",
                    "output": output,
                }))
            } else {
                outln!("{output}");
                Ok(())
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn keygen(cli: &Cli) -> Result<(), Failure> {
    let path = net::identity_path(cli)?;
    if path.exists() {
        return Err(Failure::new(format!(
            "{} already exists; refusing to overwrite an identity (remove it first)",
            path.display()
        )));
    }
    let identity = Identity::generate()?;
    identity.save(&path)?;
    show::identity(&identity, &path, cli.json)
}

fn whoami(cli: &Cli) -> Result<(), Failure> {
    let path = net::identity_path(cli)?;
    let identity = Identity::load_or_create(&path)?;
    show::identity(&identity, &path, cli.json)
}

async fn router(cli: &Cli) -> Result<(), Failure> {
    let config = net::config(cli, true)?;
    let transport = ZenohTransport::open(&config).await?;
    let listen = config.listen_endpoints();
    if cli.json {
        show::print_json(&json!({"router": transport.zid(), "listen": listen}))?;
    } else {
        outln!(
            "router {} listening on {}",
            transport.zid(),
            if listen.is_empty() {
                "the endpoints of its config file".to_owned()
            } else {
                listen.join(", ")
            }
        );
    }
    wait_for_signal().await;
    transport.close().await?;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn parse_filter(text: Option<&str>) -> Result<Filter, Failure> {
    match text {
        None => Ok(Filter::any()),
        Some(text) => text
            .parse::<Filter>()
            .map_err(|e| Failure::new(format!("invalid filter: {e}"))),
    }
}

fn parse_json(what: &str, text: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| {
        Failure::new(format!(
            "the {what} is not valid JSON ({e}); strings need quotes, e.g. '\"manual\"'"
        ))
    })
}

/// The thing key a `claim` pins: from `--key`, else from the claim URI's `key=` (and its
/// `id=` must be the thing claimed).
fn claim_pin(command: &Command) -> Result<Option<(ThingId, safething::PublicKey)>, Failure> {
    let Command::Claim { id, token, key } = command else {
        return Ok(None);
    };
    let uri = uri_parameters(token);
    if let Some(named) = uri.iter().find_map(|(k, v)| (*k == "id").then_some(*v))
        && named != id
    {
        return Err(Failure::new(format!(
            "the claim URI is for `{named}`, not `{id}`"
        )));
    }
    let key = match key {
        Some(key) => Some(key.as_str()),
        None => uri.iter().find_map(|(k, v)| (*k == "key").then_some(*v)),
    };
    let Some(key) = key else { return Ok(None) };
    Ok(Some((parse_id(id)?, parse_key(key)?)))
}

/// The `name=value` pairs of a `safething:claim?...` URI (none for a bare token).
fn uri_parameters(text: &str) -> Vec<(&str, &str)> {
    text.strip_prefix("safething:claim?")
        .map(|query| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .collect()
        })
        .unwrap_or_default()
}

/// `safething forget ID`: drops the thing's line from the known-things store.
fn forget(cli: &Cli, id: &str) -> Result<(), Failure> {
    let path = net::known_things_path(cli)?;
    let mut known = KnownThings::open(&path)?;
    if known.forget(&parse_id(id)?)? {
        outln!(
            "forgot the key of `{id}` (in {}); the next contact pins the key it answers with",
            path.display()
        );
    } else {
        outln!("`{id}` was not known (in {})", path.display());
    }
    Ok(())
}

fn parse_id(id: &str) -> Result<ThingId, Failure> {
    ThingId::new(id).map_err(|e| Failure::usage(e.to_string()))
}

/// The token itself, or the `token=` parameter of a `safething:claim?...` URI.
fn claim_token(text: &str) -> &str {
    text.strip_prefix("safething:claim?")
        .and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("token="))
        })
        .unwrap_or(text)
}

fn parse_key(text: &str) -> Result<safething::PublicKey, Failure> {
    text.trim()
        .parse()
        .map_err(|e: safething::identity::IdentityError| Failure::new(e.to_string()))
}
