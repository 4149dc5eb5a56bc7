use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(minimum = "0", history = -1, writable = "yes", unit = percent)]
    level: f64,
}

fn main() {}
