//! `crate = ".."`: generated code reaches the runtime through another path.
#![deny(warnings)]

mod rt {
    pub use safething::*;
}

use safething::SafeThing;

/// A lamp
#[derive(SafeThing)]
#[safething(version = "1.0.0", crate = "crate::rt")]
pub struct Lamp {
    /// Light output
    #[safething(unit = "percent", minimum = 0, maximum = 100)]
    pub brightness: u8,
}

fn main() {
    assert_eq!(Lamp::definition().attributes.len(), 1);
    let _ = LampDevice::definition();
}
