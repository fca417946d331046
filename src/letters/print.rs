//! Printing a letter: the configured command (CUPS's `lp` by default) gets the PDF on its
//! standard input, so no file ever holds the PIN.

use std::io::Write;
use std::process::{Command, Stdio};

use super::LetterError;

/// Runs `command` (program and arguments) with `pdf` on its standard input and waits for it;
/// a failure carries the exit status and what the command wrote on stderr.
pub fn print(command: &[String], pdf: &[u8]) -> Result<(), LetterError> {
    let shown = command.join(" ");
    let failed = |reason: String| LetterError::Print {
        command: shown.clone(),
        reason,
    };
    let (program, args) = command
        .split_first()
        .ok_or_else(|| failed("no command is configured".into()))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot start {program}: {e}")))?;
    // A command that exits without reading its input breaks the pipe: its status says why.
    let fed = child.stdin.take().map(|mut stdin| stdin.write_all(pdf));
    let output = child
        .wait_with_output()
        .map_err(|e| failed(format!("waiting for it: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        return Err(failed(if stderr.is_empty() {
            format!("it ended with {}", output.status)
        } else {
            format!("it ended with {}: {stderr}", output.status)
        }));
    }
    if let Some(Err(e)) = fed {
        return Err(failed(format!("it did not take the letter: {e}")));
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        ["sh", "-c", script].map(String::from).to_vec()
    }

    #[test]
    fn the_letter_goes_to_the_command_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("printed");
        let script = format!("cat > '{}'", out.display());
        print(&sh(&script), b"%PDF-1.7 letter").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"%PDF-1.7 letter");
    }

    #[test]
    fn a_failing_command_says_how_it_failed() {
        let err = print(
            &sh("cat >/dev/null; echo 'lp: No such printer' >&2; exit 3"),
            b"x",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("No such printer") && err.contains("printCommand"),
            "{err}"
        );
        let err = print(&["/nonexistent/lp".to_owned()], b"x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot start /nonexistent/lp"), "{err}");
        let err = print(&[], b"x").unwrap_err().to_string();
        assert!(err.contains("no command"), "{err}");
    }
}
