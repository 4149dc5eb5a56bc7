//! The behaviour suite over Zenoh (see `behaviour::zenoh_net`).

#![cfg(feature = "zenoh")]

mod behaviour;

behaviour_suite!(behaviour::zenoh_net::Zenoh::new());
