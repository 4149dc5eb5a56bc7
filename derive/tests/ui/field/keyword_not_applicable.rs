use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(min_length = 1, pattern = "^a")]
    level: f64,
}

fn main() {}
