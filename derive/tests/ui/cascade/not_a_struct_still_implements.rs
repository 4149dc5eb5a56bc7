use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
enum Lamp {
    On,
}

fn _use() {
    let _ = Lamp::definition();
}

fn main() {}
