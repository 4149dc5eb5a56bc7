use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(minimum = 10, maximum = 5)]
    level: f64,
}

fn main() {}
