use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0", titel = "Lamp")]
struct Lamp {
    on: bool,
}

fn main() {}
