use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(minimum = -1, maximum = 300)]
    level: u8,
}

fn main() {}
