use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(value = "v1")]
    firmware: String,
}

fn main() {}
