use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(static)]
    firmware: String,
}

fn main() {}
