//! `safething-typescript`: SAFEthing's TypeScript side, embedded with `include_str!` so the
//! built `safething-gen` and gateway need no files at run time.
//!
//! ```text
//! typescript/sdk/*.ts                 the TypeScript SDK (runtime), copied next to generated code
//! typescript/dist/*.js, *.d.ts        the SDK compiled to ES modules (what consoles load)
//! typescript/templates/*.jinja        minijinja templates of generated TypeScript files
//! typescript/console/*                the web console the gateway serves (HTML, CSS, ES modules)
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// TypeScript: templates, the runtime's source, and the runtime compiled to JavaScript.
pub mod ts {
    /// The template of one thing's module (`<thing_snake>.ts`).
    pub const THING: &str = include_str!("../templates/thing.ts.jinja");

    /// The template of the output directory's `tsconfig.json`.
    pub const TSCONFIG: &str = include_str!("../templates/tsconfig.json.jinja");

    macro_rules! files {
        ($dir:literal: $($name:literal),* $(,)?) => {
            &[$(($name, include_str!(concat!("../", $dir, "/", $name)))),*]
        };
    }

    /// The runtime's TypeScript source, by file name (written to `DIR/safething/`).
    pub const RUNTIME: &[(&str, &str)] = files!("sdk":
        "bytes.ts", "client.ts", "crypto.ts", "errors.ts", "filter.ts", "frame.ts",
        "identity.ts", "index.ts", "keys.ts", "message.ts", "schema.ts", "session.ts", "transport.ts",
        "typed.ts", "wire.ts",
    );

    /// The `tsconfig.json` the runtime is compiled with (to `dist/`).
    pub const RUNTIME_TSCONFIG: &str = include_str!("../sdk/tsconfig.json");

    /// The runtime compiled to ES-module JavaScript with type declarations, by file name: what a
    /// console loads without a build step (`index.js` is the entry point).
    pub const DIST: &[(&str, &str)] = files!("dist":
        "bytes.d.ts", "bytes.js", "client.d.ts", "client.js", "crypto.d.ts", "crypto.js",
        "errors.d.ts", "errors.js", "filter.d.ts", "filter.js", "frame.d.ts", "frame.js",
        "identity.d.ts", "identity.js", "index.d.ts", "index.js", "keys.d.ts", "keys.js",
        "message.d.ts", "message.js",
        "schema.d.ts", "schema.js", "session.d.ts", "session.js", "transport.d.ts", "transport.js",
        "typed.d.ts", "typed.js",
        "wire.d.ts", "wire.js",
    );
}

/// The web console: one page, its stylesheet and ES modules, served by the gateway (`GET /` and
/// `GET /console/{file}`). Plain files, no build step; the scripts import the compiled runtime
/// from `/sdk/index.js`.
pub mod console {
    /// The console's files by name (`index.html` is the page).
    pub const FILES: &[(&str, &str)] = &[
        ("index.html", include_str!("../console/index.html")),
        ("console.css", include_str!("../console/console.css")),
        ("console.js", include_str!("../console/console.js")),
        ("forms.js", include_str!("../console/forms.js")),
        ("chart.js", include_str!("../console/chart.js")),
    ];
}

#[cfg(test)]
mod tests {
    use super::{console, ts};

    /// Every console file is embedded.
    #[test]
    fn every_console_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut names: Vec<String> = console::FILES
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .collect();
        names.sort();
        assert_eq!(names, on_disk);
    }

    /// Every file in the folders is embedded (a new runtime file must be listed here).
    #[test]
    fn every_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (dir, listed, ext) in [
            ("sdk", ts::RUNTIME, ".ts"),
            ("dist", ts::DIST, ".js"),
            ("dist", ts::DIST, ".d.ts"),
        ] {
            let mut on_disk: Vec<String> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(ext) && (ext != ".ts" || !n.ends_with(".d.ts")))
                .filter(|n| ext != ".js" || n.ends_with(".js"))
                .collect();
            on_disk.sort();
            let mut names: Vec<String> = listed
                .iter()
                .map(|(n, _)| (*n).to_owned())
                .filter(|n| n.ends_with(ext) && (ext != ".ts" || !n.ends_with(".d.ts")))
                .collect();
            names.sort();
            assert_eq!(names, on_disk, "{dir}/*{ext}");
        }
    }
}
