//! No name is reserved: fields, events and actions named like the framework's operations
//! (`state`, `id`, `description`, `connect`, `new`, ...) and like keywords and std methods
//! (`type`, `self`, `clone`, `default`); the framework's side is `ThingClient`. No warnings.
#![deny(warnings)]

use safething::{SafeThing, ThingClient};

/// A door lock
#[derive(Clone, SafeThing)]
#[safething(version = "1.0.0", event(name = "connect", access = "all"))]
#[safething(event(name = "state", data = ::std::string::String, access = "all"))]
#[safething(event(name = "self", access = "all"), event(name = "clone", access = "all"))]
#[safething(action(name = "new", output = bool, access = "all"))]
#[safething(action(name = "clone", output = u8, access = "all"))]
#[safething(action(name = "default", access = "all"), action(name = "serve", access = "all"))]
#[safething(action(name = "shutdown", access = "all"), action(name = "self", access = "all"))]
#[safething(action(name = "client", access = "all"), action(name = "device", access = "all"))]
#[safething(action(name = "inner", access = "all"), action(name = "thing", access = "all"))]
pub struct Lock {
    #[safething(writable, access = "all")]
    pub state: u8,
    #[safething(static, value = "LOCK-1", access = "all")]
    pub id: ::std::string::String,
    #[safething(access = "all")]
    pub description: ::std::string::String,
    #[safething(access = "all")]
    pub definition: bool,
    #[safething(access = "all")]
    pub is_online: bool,
    #[safething(access = "all")]
    pub connect: f64,
    #[safething(access = "all")]
    pub r#type: ::std::string::String,
}

fn _uses(lock: &LockClient) {
    // The affordances have the inherent methods...
    let _ = lock.state();
    let _ = lock.id();
    let _ = lock.description();
    let _ = lock.is_online();
    let _ = lock.connect();
    let _ = lock.r#type();
    let _ = lock.new();
    let _ = lock.clone();
    let _ = lock.self_();
    let _ = lock.on_connect(safething::typed::Filter::any());
    // ...and the framework's operations are the trait's.
    let _: &safething::ir::ThingId = ThingClient::id(lock);
    let _: bool = ThingClient::is_online(lock);
    let _ = ThingClient::description(lock);
    let _ = ThingClient::thing(lock);
    let _ = <LockClient as ThingClient>::connect;
    let _: LockClient = Clone::clone(lock);
}

fn main() {
    assert_eq!(Lock::definition().attributes.len(), 7);
    assert_eq!(Lock::definition().actions.len(), 10);
    assert!(Lock::check().is_ok());
    assert_eq!(
        <LockClient as ThingClient>::definition(),
        LockDevice::definition()
    );
    fn _handler<H: LockHandler>() {}
}
