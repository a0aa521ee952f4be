//! The patterns of `search_files`: `*` (any characters but `/`), `**` (any characters),
//! `?` (one character but `/`), everything else literal. Matched in time proportional to
//! the pattern's length times the path's, whatever the pattern: no backtracking.

/// The longest pattern accepted, in characters.
pub const MAX_PATTERN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Literal(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `**`
    Stars,
}

/// A parsed pattern.
#[derive(Debug)]
pub struct Glob {
    tokens: Vec<Token>,
    /// Whether the pattern names a path (holds `/`) rather than a file name.
    whole_path: bool,
}

impl Glob {
    /// Parses `pattern`; refuses an empty or overlong one.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("the pattern is empty; try `*.txt` or `**/notes*`".into());
        }
        if pattern.chars().count() > MAX_PATTERN {
            return Err(format!(
                "the pattern is longer than {MAX_PATTERN} characters"
            ));
        }
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '*' if chars.peek() == Some(&'*') => {
                    while chars.peek() == Some(&'*') {
                        chars.next();
                    }
                    Token::Stars
                }
                '*' => Token::Star,
                '?' => Token::One,
                c => Token::Literal(c),
            });
        }
        Ok(Glob {
            tokens,
            whole_path: pattern.contains('/'),
        })
    }

    /// Whether the file at `relative` (with `/` separators) matches.
    pub fn matches(&self, relative: &str) -> bool {
        let subject = if self.whole_path {
            relative
        } else {
            relative.rsplit('/').next().unwrap_or(relative)
        };
        let text: Vec<char> = subject.chars().collect();
        // reach[i]: the tokens seen so far can match text[..i].
        let mut reach = vec![false; text.len() + 1];
        reach[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; text.len() + 1];
            for i in 0..=text.len() {
                match token {
                    Token::Literal(c) => next[i] = i > 0 && reach[i - 1] && text[i - 1] == *c,
                    Token::One => next[i] = i > 0 && reach[i - 1] && text[i - 1] != '/',
                    Token::Star => {
                        next[i] = reach[i] || (i > 0 && next[i - 1] && text[i - 1] != '/')
                    }
                    Token::Stars => next[i] = reach[i] || (i > 0 && next[i - 1]),
                }
            }
            reach = next;
        }
        reach[text.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let g = |p: &str| Glob::new(p).unwrap();
        assert!(g("*.txt").matches("a/b/notes.txt"));
        assert!(!g("*.txt").matches("a/b/notes.md"));
        assert!(g("note?.md").matches("notes.md"));
        assert!(g("docs/*.md").matches("docs/a.md"));
        assert!(!g("docs/*.md").matches("docs/sub/a.md"));
        assert!(g("docs/**.md").matches("docs/sub/a.md"));
        assert!(g("**/a.md").matches("x/y/a.md"));
        assert!(Glob::new("").is_err());
        assert!(Glob::new(&"*".repeat(MAX_PATTERN + 1)).is_err());
        // A pattern that makes a backtracking matcher explode is answered at once.
        let hostile = format!("{}b", "*a".repeat(100));
        assert!(!g(&hostile).matches(&"a".repeat(200)));
    }
}
