use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
enum Lamp {
    On,
    Off,
}

fn main() {}
