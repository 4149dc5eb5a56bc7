//! The behaviour suite on the in-process transport.

mod behaviour;

behaviour_suite!(behaviour::Memory::new());
