//! The derive inside a function, next to local types that shadow the prelude and std, with a
//! private struct and private payload types in a private module; no warnings.
#![deny(warnings)]

mod shadows {
    #![allow(dead_code)]
    pub struct Result;
    pub struct Option;
    pub struct String;
    pub struct Vec;
    pub struct Box;
    pub struct Send;
    pub struct Sync;
    pub enum Either {
        Ok,
        Err,
        Some,
        None,
    }
}

mod garden {
    use super::shadows::Either::*;
    use super::shadows::*;
    use safething::SafeThing;

    #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    struct Reading {
        level: f64,
    }

    /// A valve
    #[derive(SafeThing)]
    #[safething(version = "1.0.0", event(name = "dry", data = Reading, access = "all"))]
    #[safething(action(name = "open", input = u8, output = ::std::string::String))]
    struct Valve {
        #[safething(writable, unit = "percent", maximum = 100)]
        level: u8,
        #[safething(static, value = "v1")]
        firmware: ::std::string::String,
        tags: ::std::vec::Vec<::std::string::String>,
    }

    pub fn check() {
        let _ = (Ok, Err, Some, None, Result, Option, String, Vec, Box, Send, Sync);
        assert_eq!(Valve::definition().thing.name, "Valve");
        assert!(Valve::check().is_ok());
        let _ = ValveDevice::definition();
        let _ = <ValveClient as safething::ThingClient>::definition();
        fn _handler<H: ValveHandler>() {}
    }
}

fn main() {
    use safething::SafeThing;

    #[derive(SafeThing)]
    #[safething(version = "0.1.0", title = "Inside a function")]
    struct Local {
        on: bool,
    }

    struct Result;
    let _ = Result;
    assert_eq!(Local::definition().thing.version, "0.1.0");
    let _ = LocalDevice::definition();
    garden::check();
}
