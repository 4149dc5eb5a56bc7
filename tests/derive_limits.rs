//! A derived definition is held to the same limits as a definition file or a description from
//! the network: a payload type nested too deeply is a `limit-exceeded` error at its path, and
//! no device is built from it.

use safething::ir::Rule;
use safething::transport::memory::MemoryNetwork;
use safething::{Error, SafeThing};

/// 32 arrays around an integer: 33 levels, one more than the depth limit.
type Deep = Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<
    Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<u8>>>>>>>>>>>>>>>>,
>>>>>>>>>>>>>>>>;

/// A thing whose event carries [`Deep`].
#[derive(SafeThing)]
#[safething(version = "1.0.0", event(name = "deep", data = Deep))]
pub struct Nested {
    #[safething(access = "all")]
    level: u8,
}

#[test]
fn a_derived_payload_nested_too_deeply_is_a_limit_error() {
    let problems = Nested::check().unwrap_err().0;
    let found: Vec<(Rule, String, String)> = problems
        .iter()
        .map(|d| (d.rule, d.path.to_string(), d.message.clone()))
        .collect();
    assert_eq!(
        found,
        [(
            Rule::LimitExceeded,
            "events.deep.data".to_owned(),
            "this schema has 33 levels of nesting, more than the limit of 32 (limit `depth`)"
                .to_owned()
        )]
    );
    let net = MemoryNetwork::new();
    match NestedDevice::builder("deep-01")
        .transport(net.session())
        .build()
    {
        Err(Error::InvalidDefinition(invalid)) => {
            assert_eq!(invalid.0[0].rule, Rule::LimitExceeded)
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a device was built from a definition over the limits"),
    }
}
