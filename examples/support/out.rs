//! `outln!`: `println!` for examples whose output may be piped into `head`.
//!
//! `println!` panics when stdout is a closed pipe; a program whose reader went away should end
//! quietly instead (status 0), as the `safething` console does.

/// Prints a line; a closed stdout ends the program quietly, another write error with status 1.
///
/// The line is formatted before stdout is locked: an argument may `.await` (`outln!("{}",
/// action.output().await?)`), and stdout's lock held across that await would block every other
/// thread that prints (such as the device answering the very request awaited) until it ends.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = format!($($arg)*);
        let mut out = std::io::stdout().lock();
        let written = writeln!(out, "{line}").and_then(|()| out.flush());
        if let Err(e) = written {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
                std::process::exit(1);
            }
            std::process::exit(0);
        }
    }};
}
