fn main() -> Result<(), safething_codegen::BuildError> {
    safething_codegen::Builder::new().compile(&[
        "../things/gardening_device.toml",
        "../things/thermostat.toml",
    ])
}
