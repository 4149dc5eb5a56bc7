use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(minimum = 0)]
    #[safething(unit = "percent", minimum = 1)]
    level: f64,
}

fn main() {}
