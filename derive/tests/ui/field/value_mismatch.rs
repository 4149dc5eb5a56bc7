use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(default = "high", enum = [1, 2, "three"])]
    level: u8,
}

fn main() {}
