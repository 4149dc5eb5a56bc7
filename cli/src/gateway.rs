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
        tls_cert,
        tls_key,
        allow_origin,
    } = &cli.command
    else {
        return Ok(());
    };
    let addr = listen_address(&cli.listen)?;
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig::from_pem_files(cert, key)?),
        _ => None,
    };
    for origin in allow_origin {
        if !(origin.starts_with("http://") || origin.starts_with("https://")) {
            return Err(Failure::new(format!(
                "--allow-origin `{origin}`: an origin is scheme://host[:port], e.g. \
                 http://localhost:3000"
            )));
        }
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::new(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;

    // The gateway joins the network as a plain participant: no identity, no client.
    let config = net::zenoh_config(cli, false, &[])?;
    let place = net::place(&config);
    let transport = ZenohTransport::open(&config).await?;
    let gateway = Gateway::new(
        Arc::new(transport.clone()),
        GatewayConfig {
            discovery_timeout: cli.within,
            allowed_origins: allow_origin.clone(),
            loopback_hosts_only: local.ip().is_loopback(),
            ..GatewayConfig::default()
        },
    )
    .await?;

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
