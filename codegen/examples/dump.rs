fn main() {
    for path in std::env::args().skip(1) {
        let loaded = safething_codegen::load(&path).unwrap();
        match safething_codegen::rust::generate(&loaded.definition) {
            Ok(s) => print!("{s}"),
            Err(e) => eprintln!("{e}"),
        }
    }
}
