//! `safething gateway`: the network over HTTP and WebSocket, with the web console.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use tokio::net::TcpListener;

use safething::transport::zenoh::ZenohTransport;
use safething_gateway::{Gateway, GatewayConfig, TlsConfig};

use crate::commands::wait_for_signal;
use crate::out::outln;
use crate::{Cli, Command, Failure, net, show};

/// The HTTP address when `--listen` is not given.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Runs the gateway until Ctrl-C or SIGTERM.
pub async fn run(cli: &Cli) -> Result<(), Failure> {
    let Command::Gateway {
        tls_cert, tls_key, ..
    } = &cli.command
    else {
        return Ok(());
    };
    let addr = listen_address(&cli.listen)?;
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig::from_pem_files(cert, key)?),
        _ => None,
    };
    let settings = settings(cli)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::new(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;

    // The gateway joins the network as a plain participant: no identity, no client.
    let config = net::zenoh_config(cli, false, &[])?;
    let place = net::place(&config);
    let transport = ZenohTransport::open(&config).await?;
    let gateway = Gateway::new(Arc::new(transport.clone()), settings).await?;

    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{local}/");
    if cli.json {
        show::print_json(&json!({"gateway": url, "console": url, "network": place}))?;
    } else {
        outln!("gateway listening on {url} — open the web console there");
        outln!("network: {place}");
    }
    if let Err(e) = std::io::stdout().flush() {
        crate::out::closed_or_failed(&e);
    }
    if tls.is_none() && !local.ip().is_loopback() {
        eprintln!(
            "warning: plain HTTP on {local}: use --tls-cert and --tls-key off loopback (messages \
             stay signed and restricted payloads sealed, but page scripts could be tampered with)"
        );
    }
    let served = gateway.serve(listener, tls, wait_for_signal()).await;
    let _ = transport.close().await;
    served.map_err(|e| Failure::new(format!("the gateway failed: {e}")))
}

/// The gateway's settings from the command line: origins and host names it answers to, the
/// longest a query may stay open.
fn settings(cli: &Cli) -> Result<GatewayConfig, Failure> {
    let Command::Gateway {
        allow_origin,
        allow_host,
        max_query_ms,
        ..
    } = &cli.command
    else {
        return Ok(GatewayConfig::default());
    };
    for origin in allow_origin {
        if !(origin.starts_with("http://") || origin.starts_with("https://")) {
            return Err(Failure::new(format!(
                "--allow-origin `{origin}`: an origin is scheme://host[:port], e.g. \
                 http://localhost:3000"
            )));
        }
    }
    let mut settings = GatewayConfig {
        discovery_timeout: cli.within,
        allowed_origins: allow_origin.clone(),
        ..GatewayConfig::default()
    };
    for name in allow_host {
        if name.is_empty() || name.contains(['/', ' ', '@']) {
            return Err(Failure::new(format!(
                "--allow-host `{name}`: a host is a DNS name or an address, e.g. garden.lan"
            )));
        }
        settings = settings.allow_host(name.clone());
    }
    if let Some(ms) = max_query_ms {
        settings.max_query_ms = *ms;
    }
    Ok(settings)
}

fn listen_address(listen: &[String]) -> Result<SocketAddr, Failure> {
    let text = match listen {
        [] => DEFAULT_LISTEN,
        [one] => one.as_str(),
        _ => {
            return Err(Failure::new(
                "the gateway listens on one address: pass --listen once",
            ));
        }
    };
    let text = text.strip_prefix("tcp/").unwrap_or(text);
    let text = if let Some(port) = text.strip_prefix("localhost:") {
        format!("127.0.0.1:{port}")
    } else {
        text.to_owned()
    };
    text.parse().map_err(|_| {
        Failure::new(format!(
            "--listen `{text}`: the gateway's address is IP:PORT, e.g. 127.0.0.1:8080 or \
             0.0.0.0:8443"
        ))
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("safething").chain(args.iter().copied()))
    }

    #[test]
    fn host_names_and_query_caps_from_the_command_line() {
        let cli = parse(&[
            "gateway",
            "--allow-host",
            "garden.lan",
            "--allow-host",
            "10.0.0.7",
            "--max-query-ms",
            "120000",
        ])
        .unwrap();
        let s = settings(&cli).unwrap();
        assert_eq!(s.allowed_hosts, ["garden.lan", "10.0.0.7"]);
        assert_eq!(s.max_query_ms, 120_000);

        let s = settings(&parse(&["gateway"]).unwrap()).unwrap();
        assert!(s.allowed_hosts.is_empty());
        assert_eq!(s.max_query_ms, safething_gateway::MAX_TIMEOUT_MS);

        for bad in ["", "http://garden.lan", "a b"] {
            let cli = parse(&["gateway", "--allow-host", bad]).unwrap();
            assert!(settings(&cli).is_err(), "{bad}");
        }
        assert!(parse(&["gateway", "--max-query-ms", "0"]).is_err());
        assert!(parse(&["gateway", "--max-query-ms", "soon"]).is_err());
        let cli = parse(&["gateway", "--allow-origin", "garden.lan"]).unwrap();
        assert!(settings(&cli).is_err());
    }
}
