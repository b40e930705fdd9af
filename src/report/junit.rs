//! The junit renderer (to be completed).

use std::io::{self, Write};

use super::Report;

pub fn render<W: Write + ?Sized>(w: &mut W, report: &Report) -> io::Result<()> {
    writeln!(
        w,
        "querygate report: {} scenario(s), exit code {}",
        report.scenarios.len(),
        report.exit_code
    )
}
