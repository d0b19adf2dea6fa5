//! Reading data sets: text files with one number per line.

use crate::error::{Error, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Reads a text data set: one number per line; blank lines and `#` comments (to the end of the
/// line) are skipped. NaN, ±inf, non-numeric tokens and more than one number on a line are
/// errors naming the line; so is an empty data set. With `integers`, every value must be an
/// integer (for discrete families).
pub fn read_text(path: &Path, integers: bool) -> Result<Vec<f64>> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: name.clone(),
        source,
    })?;
    read_text_from(file, &name, integers)
}

/// As [`read_text`], from any reader; `name` is used in error messages.
pub fn read_text_from(reader: impl Read, name: &str, integers: bool) -> Result<Vec<f64>> {
    let mut xs = Vec::new();
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut line = String::new();
    let mut lineno = 0usize;
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => {
                Error::input(format!("{name}:{}: not valid UTF-8 text", lineno + 1))
            }
            _ => Error::Io {
                path: name.to_string(),
                source: e,
            },
        })?;
        if read == 0 {
            break;
        }
        lineno += 1;
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let mut tokens = content.split_whitespace();
        let tok = tokens.next().unwrap_or_default();
        if tokens.next().is_some() {
            return Err(Error::input(format!(
                "{name}:{lineno}: expected one number per line, got '{content}'"
            )));
        }
        let x: f64 = tok
            .parse()
            .map_err(|_| Error::input(format!("{name}:{lineno}: '{tok}' is not a number")))?;
        if !x.is_finite() {
            return Err(Error::input(format!(
                "{name}:{lineno}: non-finite value '{tok}' (NaN and infinities are not data)"
            )));
        }
        if integers && x.fract() != 0.0 {
            return Err(Error::input(format!(
                "{name}:{lineno}: value {tok} is not an integer, but the family is discrete"
            )));
        }
        xs.push(x);
    }
    if xs.is_empty() {
        return Err(Error::input(format!(
            "{name}: the data set is empty (no numbers found)"
        )));
    }
    Ok(xs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str, ints: bool) -> Result<Vec<f64>> {
        read_text_from(s.as_bytes(), "t.txt", ints)
    }

    #[test]
    fn comments_blank_lines_and_whitespace_are_skipped() {
        assert_eq!(
            read("# head\n1.5\n\n  -2 # note\n3e2\n", false).unwrap(),
            vec![1.5, -2.0, 300.0]
        );
    }

    #[test]
    fn bad_tokens_name_their_line() {
        let e = read("1\n2\nabc\n", false).unwrap_err().to_string();
        assert!(e.contains("t.txt:3") && e.contains("abc"), "{e}");
        assert!(read("1\nNaN\n", false)
            .unwrap_err()
            .to_string()
            .contains(":2"));
        assert!(read("inf\n", false).is_err());
        assert!(read("1 2\n", false).is_err());
        assert!(read("# nothing\n\n", false)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(read("1\n2.5\n", true)
            .unwrap_err()
            .to_string()
            .contains(":2"));
    }
}
