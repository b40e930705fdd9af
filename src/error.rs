//! The library's error type. Each variant maps to one exit code, so `main` never guesses.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem located in a file the user wrote: a scenario, or an SQL file it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The scenario file, or the SQL file it names.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong, and how to fix it.
    pub message: String,
    /// The offending source line, shown under the message with a caret.
    pub source_line: Option<String>,
}

impl Located {
    /// Locates byte `offset` of `text` (the contents of `file`).
    pub fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        Located {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            source_line: Some(
                text[line_start..line_end]
                    .trim_end_matches('\r')
                    .to_string(),
            ),
        }
    }

    /// A problem with a whole file (missing, unreadable).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Located {
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            message: message.into(),
            source_line: None,
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )?;
        if let Some(src) = &self.source_line {
            let gutter = self.line.to_string().len();
            let pad: String = src
                .chars()
                .take(self.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {}^",
                "", self.line, src, "", pad
            )?;
        }
        Ok(())
    }
}

/// Every failure querygate reports. The variant decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario file, or a file it names, is wrong. Exit code 2.
    #[error("{0}")]
    Scenario(Located),
    /// Several scenario problems found at once (`check` reports them all). Exit code 2.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n\n"))]
    Scenarios(Vec<Located>),
    /// Bad flags or arguments. Exit code 2.
    #[error("{0}")]
    Usage(String),
    /// The server, Docker, the file system or the network failed. Exit code 3.
    #[error(transparent)]
    Infra(#[from] anyhow::Error),
    /// The run hit its overall time limit. Exit code 3.
    #[error("the run exceeded its time limit of {0} s (--timeout); what was measured so far is in the results file")]
    RunTimeout(u64),
    /// Ctrl-C or SIGTERM. Exit code 130 / 143.
    #[error("interrupted by {0}; cleaned up")]
    Interrupted(&'static str),
}

/// The process exit code of a command's result; an error's whole chain goes to stderr.
pub fn exit(result: Result<u8>) -> std::process::ExitCode {
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(e.exit_code())
        }
    }
}

impl Error {
    /// The process exit code this error ends a command with: 2 for scenario and usage
    /// errors, 3 for infrastructure failures and the run's time limit, 130 (SIGINT) or 143
    /// (SIGTERM) when interrupted.
    ///
    /// ```
    /// let e = querygate::Error::Usage("--rounds must be at least 2".into());
    /// assert_eq!(e.exit_code(), 2);
    /// ```
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Scenario(_) | Error::Scenarios(_) | Error::Usage(_) => 2,
            Error::Infra(_) | Error::RunTimeout(_) => 3,
            Error::Interrupted("SIGTERM") => 143,
            Error::Interrupted(_) => 130,
        }
    }
}

impl From<Located> for Error {
    fn from(l: Located) -> Self {
        Error::Scenario(l)
    }
}

/// `std::result::Result` with querygate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_offsets_as_line_and_column() {
        let text = "a = 1\nbb = [2, x]\n";
        let l = Located::at(
            Path::new("s.toml"),
            text,
            text.find('x').unwrap(),
            "expected a number",
        );
        assert_eq!((l.line, l.column), (2, 10));
        assert_eq!(
            l.to_string(),
            "s.toml:2:10: expected a number\n  |\n2 | bb = [2, x]\n  |          ^"
        );
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::Infra(anyhow::anyhow!("x")).exit_code(), 3);
        assert_eq!(Error::RunTimeout(1).exit_code(), 3);
        assert_eq!(Error::Interrupted("SIGINT").exit_code(), 130);
    }
}
