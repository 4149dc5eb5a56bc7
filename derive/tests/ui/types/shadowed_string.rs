use safething::SafeThing;

mod local {
    pub struct String;
}
use local::String;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    name: String,
}

fn main() {}
