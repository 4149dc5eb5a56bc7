use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
union Lamp {
    level: u8,
    on: bool,
}

fn main() {}
