//! Progress on stderr: a bar on a terminal, plain lines elsewhere (CI logs).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    quiet: bool,
    terminal: bool,
    bar: Option<ProgressBar>,
    /// Load status lines seen since the load started (plain output prints every fifth).
    load_lines: u64,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            bar: None,
            load_lines: 0,
        }
    }

    /// A line about what is happening now.
    pub fn step(&mut self, msg: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.println(format!("querygate: {msg}")),
            None => eprintln!("querygate: {msg}"),
        }
    }

    /// Starts counting rounds for `label`.
    pub fn start_rounds(&mut self, label: &str, total: u64) {
        if self.quiet {
            return;
        }
        if self.terminal {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "querygate: {msg} [{bar:30}] round {pos}/{len} ({elapsed}, ~{eta} left)",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.set_message(label.to_string());
            b.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(b);
        } else {
            eprintln!("querygate: {label}: {total} rounds");
        }
    }

    pub fn round_done(&mut self, done: u64, total: u64) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.set_position(done),
            None if done == total || done % 5 == 0 => {
                eprintln!("querygate:   round {done}/{total}")
            }
            None => {}
        }
    }

    /// Starts a load run's status line (a spinner on a terminal).
    pub fn start_load(&mut self, label: &str) {
        if self.quiet {
            return;
        }
        if self.terminal {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("querygate: {spinner} {prefix}: {msg}")
                    .expect("valid template"),
            );
            b.set_prefix(label.to_string());
            b.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(b);
        } else {
            eprintln!("querygate: {label}: load running");
        }
        self.load_lines = 0;
    }

    /// The load's status, once a second: the spinner's message on a terminal, every fifth
    /// as a plain line elsewhere.
    pub fn load_status(&mut self, msg: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.set_message(msg.to_string()),
            None => {
                if self.load_lines % 5 == 0 {
                    eprintln!("querygate:   {msg}");
                }
                self.load_lines += 1;
            }
        }
    }

    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
