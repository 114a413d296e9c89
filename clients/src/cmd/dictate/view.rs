//! The live view of a dictation on stderr. On a terminal the open utterance is one line,
//! redrawn in place: committed (stable) words, then the volatile partial tail dimmed; a final
//! replaces it with a finished line. Elsewhere (a pipe, a log file) every event is its own
//! plain line, `partial: …`, `stable: …`, `final [start–end]: …`, so the output can be read
//! by scripts.

use std::io::{IsTerminal, Write};

/// Characters of the open utterance shown on a terminal line (its tail, when longer).
const LINE_WIDTH: usize = 100;

#[derive(Debug)]
pub struct LiveView {
    tty: bool,
    /// Stable words of the open utterance.
    committed: String,
    /// The volatile tail after them.
    partial: String,
    /// Whether the terminal line currently shows the open utterance.
    drawn: bool,
}

impl LiveView {
    /// A view on stderr, redrawn in place when stderr is a terminal.
    pub fn stderr() -> Self {
        Self::new(std::io::stderr().is_terminal())
    }

    pub fn new(tty: bool) -> Self {
        Self {
            tty,
            committed: String::new(),
            partial: String::new(),
            drawn: false,
        }
    }

    /// A new volatile tail for the open utterance (replaces the previous one).
    pub fn partial(&mut self, text: &str) {
        self.partial = text.trim().to_string();
        if self.tty {
            self.redraw();
        } else if !self.partial.is_empty() {
            self.line(&format!("partial: {}", self.partial));
        }
    }

    /// Newly committed words: never retracted.
    pub fn stable(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        if !self.committed.is_empty() {
            self.committed.push(' ');
        }
        self.committed.push_str(text);
        self.partial.clear();
        if self.tty {
            self.redraw();
        } else {
            self.line(&format!("stable: {text}"));
        }
    }

    /// A closed utterance.
    pub fn final_text(&mut self, text: &str, start: f64, end: f64) {
        self.committed.clear();
        self.partial.clear();
        let text = text.trim();
        let line = format!("final [{}–{}]: {text}", clock(start), clock(end));
        if self.tty {
            self.clear_line();
            self.drawn = false;
        }
        self.line(&line);
    }

    /// A message about the session (reconnects, backpressure, server errors).
    pub fn notice(&mut self, message: &str) {
        if self.tty {
            self.clear_line();
            self.line(&format!("\x1b[33m{message}\x1b[0m"));
            self.redraw();
        } else {
            self.line(message);
        }
    }

    /// Leaves the terminal on a fresh line.
    pub fn finish(&mut self) {
        if self.tty && self.drawn {
            self.clear_line();
            self.drawn = false;
        }
    }

    fn redraw(&mut self) {
        let mut err = std::io::stderr().lock();
        let committed = self.committed.as_str();
        let partial = self.partial.as_str();
        let total = committed.chars().count() + partial.chars().count() + 1;
        // Keep the tail: the newest words matter while speaking.
        let skip = total.saturating_sub(LINE_WIDTH);
        let committed_skip = skip.min(committed.chars().count());
        let committed: String = committed.chars().skip(committed_skip).collect();
        let partial: String = partial.chars().skip(skip - committed_skip).collect();
        let _ = write!(err, "\r\x1b[2K{committed} \x1b[2m{partial}\x1b[0m");
        let _ = err.flush();
        self.drawn = true;
    }

    fn clear_line(&self) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }

    fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
        let _ = err.flush();
    }
}

/// `m:ss.t` for a time in seconds.
pub fn clock(seconds: f64) -> String {
    let tenths = (seconds.max(0.0) * 10.0).round() as u64;
    format!("{}:{:02}.{}", tenths / 600, (tenths / 10) % 60, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_minutes_seconds_tenths() {
        assert_eq!(clock(0.0), "0:00.0");
        assert_eq!(clock(3.24), "0:03.2");
        assert_eq!(clock(61.96), "1:02.0");
        assert_eq!(clock(-1.0), "0:00.0");
    }
}
