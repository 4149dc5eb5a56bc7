use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(event(name = "overheated", dta = f64))]
struct Lamp {
    on: bool,
}

fn main() {}
