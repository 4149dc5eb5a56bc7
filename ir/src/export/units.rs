//! Well-known unit names and their IRIs in the QUDT unit vocabulary, for WoT documents: a
//! consumer that knows QUDT understands `qudt:DEG_C`, nobody has to guess what `celsius` means.

/// The namespace of QUDT units, bound to the `qudt` prefix in a document's `@context`.
pub const QUDT_NAMESPACE: &str = "http://qudt.org/vocab/unit/";

/// The `@context` prefix of [`QUDT_NAMESPACE`].
pub const QUDT_PREFIX: &str = "qudt";

/// Unit names a definition may use, each with its QUDT unit. The first name of a unit is the
/// one an import gives back.
const UNITS: &[(&str, &str)] = &[
    ("percent", "PERCENT"),
    ("%", "PERCENT"),
    ("celsius", "DEG_C"),
    ("degree celsius", "DEG_C"),
    ("°c", "DEG_C"),
    ("fahrenheit", "DEG_F"),
    ("°f", "DEG_F"),
    ("kelvin", "K"),
    ("liter", "L"),
    ("litre", "L"),
    ("milliliter", "MilliL"),
    ("meter", "M"),
    ("metre", "M"),
    ("centimeter", "CentiM"),
    ("millimeter", "MilliM"),
    ("kilometer", "KiloM"),
    ("second", "SEC"),
    ("seconds", "SEC"),
    ("millisecond", "MilliSEC"),
    ("milliseconds", "MilliSEC"),
    ("minute", "MIN"),
    ("minutes", "MIN"),
    ("hour", "HR"),
    ("hours", "HR"),
    ("day", "DAY"),
    ("gram", "GM"),
    ("kilogram", "KiloGM"),
    ("watt", "W"),
    ("kilowatt", "KiloW"),
    ("kilowatt hour", "KiloW-HR"),
    ("kwh", "KiloW-HR"),
    ("volt", "V"),
    ("ampere", "A"),
    ("milliampere", "MilliA"),
    ("hertz", "HZ"),
    ("pascal", "PA"),
    ("hectopascal", "HectoPA"),
    ("hpa", "HectoPA"),
    ("bar", "BAR"),
    ("lux", "LUX"),
    ("decibel", "DeciB"),
    ("db", "DeciB"),
    ("ppm", "PPM"),
    ("joule", "J"),
    ("degree", "DEG"),
    ("rpm", "REV-PER-MIN"),
    ("meter per second", "M-PER-SEC"),
    ("liter per minute", "L-PER-MIN"),
];

/// `qudt:<UNIT>` for a well-known unit name (case-insensitive), `None` for any other.
pub fn qudt_iri(unit: &str) -> Option<String> {
    let lower = unit.trim().to_lowercase();
    UNITS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, id)| format!("{QUDT_PREFIX}:{id}"))
}

/// The unit name of a QUDT IRI (`qudt:DEG_C` or the full IRI), `None` for anything else.
pub fn unit_name(iri: &str) -> Option<&'static str> {
    let id = iri
        .strip_prefix("qudt:")
        .or_else(|| iri.strip_prefix(QUDT_NAMESPACE))?;
    UNITS.iter().find(|(_, u)| *u == id).map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_units_map_both_ways_and_others_stay_plain() {
        assert_eq!(qudt_iri("celsius").as_deref(), Some("qudt:DEG_C"));
        assert_eq!(qudt_iri("Percent").as_deref(), Some("qudt:PERCENT"));
        assert_eq!(qudt_iri("furlongs per fortnight"), None);
        assert_eq!(unit_name("qudt:DEG_C"), Some("celsius"));
        assert_eq!(unit_name("http://qudt.org/vocab/unit/L"), Some("liter"));
        assert_eq!(unit_name("om2:degreeCelsius"), None);
        assert_eq!(unit_name("qudt:NOPE"), None);
    }
}
