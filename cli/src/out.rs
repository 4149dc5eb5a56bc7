//! Writing to stdout when the reader may go away.
//!
//! `println!` panics when stdout is a closed pipe (`safething list --json | head -1`). A console
//! should end quietly instead, as ripgrep and the coreutils do: a closed stdout means nobody
//! wants the rest, so the program exits with status 0 and prints nothing more.

use std::fmt;
use std::io::{self, Write};

/// `println!` that ends the program quietly when stdout was closed.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Writes one line and flushes it (streams are read line by line as they come).
pub fn line(args: fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        closed_or_failed(&e);
    }
}

/// Ends the program after a failed write to stdout: quietly (status 0) for a closed pipe,
/// with a message and status 1 for anything else (a full disk, say).
pub fn closed_or_failed(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    let _ = writeln!(io::stderr(), "error: cannot write to stdout: {e}");
    std::process::exit(1);
}
