use safething::SafeThing;

#[derive(SafeThing)]
#[safething(title = "Lamp")]
struct Lamp {
    on: bool,
}

fn main() {}
