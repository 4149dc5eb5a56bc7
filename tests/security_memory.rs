//! The adversarial matrix on the in-process transport.

mod behaviour;
mod security;

security_suite!(behaviour::Memory::new());
