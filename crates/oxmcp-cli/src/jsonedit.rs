//! Editing one entry of a JSON config file in place: every byte outside the entry (other
//! entries, key order, spacing, `//` and `/* */` comments that JSONC files carry) stays as
//! it was.

/// A member of a JSON object: where its key starts and where its value lies.
#[derive(Debug, Clone)]
struct Member {
    key: String,
    key_start: usize,
    value_start: usize,
    value_end: usize,
}

/// An object: its braces and members.
#[derive(Debug, Clone)]
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

/// What [`upsert`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// The entry was added.
    Added,
    /// The entry replaced this text.
    Replaced(String),
}

/// Sets `root[section][name] = entry` (`entry` is JSON text, pretty-printed with two-space
/// indents) in `text`, touching nothing else. An entry already there is replaced only when
/// `replace`; else the error says so.
pub fn upsert(
    text: &str,
    section: &str,
    name: &str,
    entry: &str,
    replace: bool,
) -> Result<(String, Change), String> {
    if text.trim().is_empty() {
        let body = indent(entry, "    ");
        return Ok((
            format!(
                "{{\n  {}: {{\n    {}: {body}\n  }}\n}}\n",
                quote(section),
                quote(name)
            ),
            Change::Added,
        ));
    }
    let mut parser = Parser { text, at: 0 };
    parser.ws()?;
    let root = parser.object(0)?;
    parser.ws()?;
    if parser.at != text.len() {
        return Err(parser.error("the end of the file after the top-level object"));
    }
    let Some(servers) = root.members.iter().find(|m| m.key == section) else {
        // No section yet: add it as the root's last member.
        let unit = member_indent(text, &root).unwrap_or_else(|| "  ".to_owned());
        let body = indent(entry, &format!("{unit}{unit}"));
        let member = format!(
            "{}: {{\n{unit}{unit}{}: {body}\n{unit}}}",
            quote(section),
            quote(name)
        );
        return Ok((insert_member(text, &root, &member, &unit), Change::Added));
    };
    let mut inner = Parser {
        text,
        at: servers.value_start,
    };
    let servers_object = inner.object(0).map_err(|_| {
        format!("\"{section}\" is not an object; expected {{\"name\": {{...}}, ...}}")
    })?;
    let outer = line_indent(text, servers.key_start);
    let unit = member_indent(text, &servers_object).unwrap_or_else(|| format!("{outer}  "));
    let body = indent(entry, &unit);
    if let Some(existing) = servers_object.members.iter().find(|m| m.key == name) {
        if !replace {
            return Err(format!(
                "an entry named {name:?} is already there; --force replaces it"
            ));
        }
        let old = text[existing.value_start..existing.value_end].to_owned();
        let mut out = String::with_capacity(text.len() + body.len());
        out.push_str(&text[..existing.value_start]);
        out.push_str(&body);
        out.push_str(&text[existing.value_end..]);
        return Ok((out, Change::Replaced(old)));
    }
    let member = format!("{}: {body}", quote(name));
    Ok((
        insert_member(text, &servers_object, &member, &unit),
        Change::Added,
    ))
}

/// `text` with `member` added after `object`'s last member (or as its only one).
fn insert_member(text: &str, object: &Object, member: &str, unit: &str) -> String {
    let mut out = String::with_capacity(text.len() + member.len() + 8);
    match object.members.last() {
        Some(last) => {
            out.push_str(&text[..last.value_end]);
            out.push_str(&format!(",\n{unit}{member}"));
            out.push_str(&text[last.value_end..]);
        }
        None => {
            let close_indent = line_indent(text, object.open);
            out.push_str(&text[..=object.open]);
            out.push_str(&format!("\n{unit}{member}\n{close_indent}"));
            out.push_str(&text[object.close..]);
        }
    }
    out
}

/// The whitespace that starts the line holding byte `at`.
fn line_indent(text: &str, at: usize) -> String {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// The indent of an object's members, when the first one starts a line of its own.
fn member_indent(text: &str, object: &Object) -> Option<String> {
    let first = object.members.first()?;
    let start = text[..first.key_start].rfind('\n')? + 1;
    let before = &text[start..first.key_start];
    before
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then(|| before.to_owned())
}

/// Indents every line of `text` but the first by `prefix`.
fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, line)| match i {
            0 => line.to_owned(),
            _ => format!("{prefix}{line}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// A JSON (with comments) scanner that records where objects and members lie.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn error(&self, expected: &str) -> String {
        let line = self.text[..self.at].matches('\n').count() + 1;
        let found = self.text[self.at..]
            .chars()
            .next()
            .map_or("the end of the file".to_owned(), |c| format!("{c:?}"));
        format!("not valid JSON at line {line}: expected {expected}, found {found}")
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Skips whitespace and comments.
    fn ws(&mut self) -> Result<(), String> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.at += 1,
                Some(b'/') if self.text[self.at..].starts_with("//") => {
                    self.at = self.text[self.at..]
                        .find('\n')
                        .map_or(self.text.len(), |i| self.at + i);
                }
                Some(b'/') if self.text[self.at..].starts_with("/*") => {
                    match self.text[self.at + 2..].find("*/") {
                        Some(i) => self.at += i + 4,
                        None => return Err(self.error("the end of a /* comment */")),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Object, String> {
        let open = self.at;
        self.expect(b'{', "an object ({)")?;
        let mut members = Vec::new();
        self.ws()?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Object {
                open,
                close: self.at - 1,
                members,
            });
        }
        loop {
            self.ws()?;
            let key_start = self.at;
            let key = self.string()?;
            self.ws()?;
            self.expect(b':', "a colon after the key")?;
            self.ws()?;
            let value_start = self.at;
            self.value(depth + 1)?;
            members.push(Member {
                key,
                key_start,
                value_start,
                value_end: self.at,
            });
            self.ws()?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Object {
                        open,
                        close: self.at - 1,
                        members,
                    });
                }
                _ => return Err(self.error("a comma or the end of the object (})")),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), String> {
        if depth > 128 {
            return Err(self.error("less deeply nested values"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth + 1).map(drop),
            Some(b'[') => {
                self.at += 1;
                self.ws()?;
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    self.ws()?;
                    self.value(depth + 1)?;
                    self.ws()?;
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error("a comma or the end of the array (])")),
                    }
                }
            }
            Some(b'"') => self.string().map(drop),
            Some(_) => {
                let rest = &self.text[self.at..];
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
                    .unwrap_or(rest.len());
                let word = &rest[..len];
                let valid = matches!(word, "true" | "false" | "null")
                    || serde_json::from_str::<serde_json::Number>(word).is_ok();
                if !valid {
                    return Err(self.error("a value"));
                }
                self.at += len;
                Ok(())
            }
            None => Err(self.error("a value")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let start = self.at;
        self.expect(b'"', "a string")?;
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.at) {
            match b {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return serde_json::from_str(&self.text[start..self.at])
                        .map_err(|_| format!("not valid JSON: a bad string at byte {start}"));
                }
                _ => self.at += 1,
            }
        }
        Err(self.error("the end of a string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "{\n  \"command\": \"srv\"\n}";

    #[test]
    fn adds_beside_other_entries_keeping_every_other_byte() {
        let before = "{\n    \"theme\": \"dark\", // mine\n    \"mcpServers\": {\n        \"a\": {\"command\": \"x\"}\n    }\n}\n";
        let (after, change) = upsert(before, "mcpServers", "new", ENTRY, false).unwrap();
        assert_eq!(change, Change::Added);
        assert_eq!(
            after,
            "{\n    \"theme\": \"dark\", // mine\n    \"mcpServers\": {\n        \"a\": {\"command\": \"x\"},\n        \"new\": {\n          \"command\": \"srv\"\n        }\n    }\n}\n"
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&after.replace("// mine", "")).unwrap();
        assert_eq!(parsed["mcpServers"]["new"]["command"], "srv");
    }

    #[test]
    fn creates_the_section_or_the_file() {
        let (after, _) = upsert("{\"x\": 1}", "servers", "n", ENTRY, false).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&after).unwrap();
        assert_eq!(parsed["x"], 1);
        assert_eq!(parsed["servers"]["n"]["command"], "srv");
        assert!(
            after.starts_with("{\"x\": 1},") || after.starts_with("{\"x\": 1,"),
            "{after}"
        );
        let (after, _) = upsert("", "mcpServers", "n", ENTRY, false).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&after).unwrap();
        assert_eq!(parsed["mcpServers"]["n"]["command"], "srv");
        let (after, _) = upsert("{}", "mcpServers", "n", ENTRY, false).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&after).unwrap();
        assert_eq!(parsed["mcpServers"]["n"]["command"], "srv");
        let (after, _) = upsert("{\"mcpServers\": {}}", "mcpServers", "n", ENTRY, false).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&after).unwrap();
        assert_eq!(parsed["mcpServers"]["n"]["command"], "srv");
    }

    #[test]
    fn replaces_only_when_asked() {
        let before = "{\"mcpServers\": {\"a\": {\"command\": \"old\"}, \"b\": 2}}";
        let err = upsert(before, "mcpServers", "a", ENTRY, false).unwrap_err();
        assert!(err.contains("already there; --force"), "{err}");
        let (after, change) = upsert(before, "mcpServers", "a", ENTRY, true).unwrap();
        assert_eq!(change, Change::Replaced("{\"command\": \"old\"}".into()));
        assert_eq!(
            after,
            "{\"mcpServers\": {\"a\": {\n    \"command\": \"srv\"\n  }, \"b\": 2}}"
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_place() {
        let err = upsert("{\"a\": }", "mcpServers", "n", ENTRY, false).unwrap_err();
        assert!(err.contains("line 1: expected a value"), "{err}");
        let err = upsert("[1]", "mcpServers", "n", ENTRY, false).unwrap_err();
        assert!(err.contains("expected an object"), "{err}");
        let err = upsert("{\"mcpServers\": []}", "mcpServers", "n", ENTRY, false).unwrap_err();
        assert!(err.contains("\"mcpServers\" is not an object"), "{err}");
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(500), "]".repeat(500));
        assert!(upsert(&deep, "mcpServers", "n", ENTRY, false).is_err());
        let deep = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        let err = upsert(&deep, "mcpServers", "n", ENTRY, false).unwrap_err();
        assert!(err.contains("less deeply nested"), "{err}");
    }
}
