use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(access = "public")]
    level: f64,
}

fn main() {}
