//! Ownership provisioning: claiming an unclaimed device with its one-time token.

use crate::device::Inner;
use crate::identity::PublicKey;
use crate::wire::{Description, Problem};

/// Claims the device for `from` if `token` is its current claim token.
pub(crate) async fn claim(
    _inner: &Inner,
    _from: &PublicKey,
    _token: &str,
) -> Result<Description, Problem> {
    Err(Problem::ClaimRefused {
        reason: "claiming is not enabled on this device".into(),
    })
}
