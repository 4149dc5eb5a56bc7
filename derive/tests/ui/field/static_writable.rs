use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(static, value = "v1", writable, history = 3)]
    firmware: String,
}

fn main() {}
