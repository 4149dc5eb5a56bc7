use safething::SafeThing;

#[derive(SafeThing)]
#[safething(name = "lamp", version = "one", titel = "Lamp")]
struct Lamp {
    #[safething(minimum = 10, maximum = 5, acess = "all")]
    level: f64,
    #[safething(static)]
    model: String,
}

fn main() {}
