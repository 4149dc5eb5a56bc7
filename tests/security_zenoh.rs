//! The adversarial matrix over Zenoh, with a tap on the whole key space (see
//! `security::eavesdropper_sees_no_plaintext`).

#![cfg(feature = "zenoh")]

mod behaviour;
mod security;

security_suite!(behaviour::zenoh_net::Zenoh::new());
