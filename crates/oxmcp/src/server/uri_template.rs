//! RFC 6570 URI templates, matched the other way round: which URI fits a template, and
//! with which variables.
//!
//! Supported expressions: `{var}` (one segment, no `/`), `{+var}` and `{#var}` (anything,
//! `/` included), `{/var}` (a `/`-prefixed segment; `{/var*}` takes several), `{.var}`,
//! `{?a,b}` and `{&a}` (query parameters, each optional), and lists `{x,y}` with each
//! operator's separator (`{x,y}`: `1,2`; `{/x,y}`: `/1/2`; `{.x,y}`: `.1.2`). A prefix
//! modifier (`{var:3}`) bounds the value's length, a percent-encoded triplet counting as one
//! character. Values are percent-decoded.
//!
//! Matching takes time linear in the URI's length: a right-to-left pass marks, for each
//! piece of the template, the positions from which the rest of the template matches; a
//! left-to-right pass then gives each variable the shortest value after which the rest
//! still matches (the answer a shortest-first backtracking search would give, without its
//! quadratic, or worse, cost).

use std::fmt;

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UriTemplate {
    source: String,
    /// The template as a sequence of literals, single variables and query expressions.
    atoms: Vec<Atom>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Literal(String),
    /// One variable's value: at least one character of its class.
    Var(Var),
    /// `{?a,b}` or `{&a}`: optional; when there, everything up to a `#`.
    Query {
        lead: u8,
        names: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Var {
    name: String,
    class: Class,
    /// A prefix modifier's length, in characters.
    max_chars: Option<usize>,
    /// For an exploded `{/list*}` or `{.list*}`: the separator written back as `,`.
    explode_sep: Option<char>,
}

/// Which characters a value may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Class {
    op: Op,
    /// `/` allowed in a path value (an exploded `{/list*}`).
    slash: bool,
    /// The list separator, refused inside a value when the expression has several.
    separator: Option<char>,
}

impl Class {
    fn allows(self, c: char) -> bool {
        if c.is_whitespace() || Some(c) == self.separator {
            return false;
        }
        match self.op {
            Op::Reserved | Op::Fragment => true,
            Op::Path => !matches!(c, '?' | '#') && (self.slash || c != '/'),
            _ => !matches!(c, '/' | '?' | '#' | '&'),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
    Query,
    QueryContinue,
}

/// Why a template could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError(String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl UriTemplate {
    /// Parses a template.
    pub(crate) fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut atoms = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| TemplateError(format!("unclosed `{{` in {source:?}")))?;
                    parse_expr(&rest[1..end], source, &mut atoms)?;
                    rest = &rest[end + 1..];
                }
                Some(i) => {
                    atoms.push(Atom::Literal(rest[..i].to_owned()));
                    rest = &rest[i..];
                }
                None => {
                    if rest.contains('}') {
                        return Err(TemplateError(format!("stray `}}` in {source:?}")));
                    }
                    atoms.push(Atom::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        Ok(UriTemplate {
            source: source.to_owned(),
            atoms,
        })
    }

    /// The template as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }

    /// The variable names, in order.
    pub(crate) fn variables(&self) -> Vec<&str> {
        self.atoms
            .iter()
            .flat_map(|a| match a {
                Atom::Var(var) => vec![var.name.as_str()],
                Atom::Query { names, .. } => names.iter().map(String::as_str).collect(),
                Atom::Literal(_) => Vec::new(),
            })
            .collect()
    }

    /// The variables if `uri` fits the template. Linear in `uri`'s length (times the
    /// template's size).
    pub(crate) fn matches(&self, uri: &str) -> Option<Vec<(String, String)>> {
        // Most templates a URI is tried against do not fit: their first and last literals
        // say so without the full pass.
        if let Some(Atom::Literal(first)) = self.atoms.first() {
            if !uri.starts_with(first.as_str()) {
                return None;
            }
        }
        if let Some(Atom::Literal(last)) = self.atoms.last() {
            if !uri.ends_with(last.as_str()) {
                return None;
            }
        }
        let ok = self.tails(uri);
        ok.fits(0, 0).then(|| self.extract(uri, &ok))
    }

    /// The right-to-left pass: for each atom, the positions from which it and the atoms
    /// after it match the rest of `uri`.
    fn tails(&self, uri: &str) -> Tails {
        let n = uri.len();
        let bytes = uri.as_bytes();
        let mut ok = Tails {
            width: n + 1,
            bits: vec![false; (self.atoms.len() + 1) * (n + 1)],
        };
        ok.bits[self.atoms.len() * (n + 1) + n] = true;
        let units = self
            .atoms
            .iter()
            .any(|a| {
                matches!(
                    a,
                    Atom::Var(Var {
                        max_chars: Some(_),
                        ..
                    })
                )
            })
            .then(|| units_before(uri));
        for (i, atom) in self.atoms.iter().enumerate().rev() {
            let (cur, next) = ok.bits[i * (n + 1)..].split_at_mut(n + 1);
            let next = &next[..n + 1];
            match atom {
                Atom::Literal(lit) => {
                    let len = lit.len();
                    for p in 0..(n + 1).saturating_sub(len) {
                        cur[p] = next[p + len] && bytes[p..].starts_with(lit.as_bytes());
                    }
                }
                Atom::Var(var) => {
                    // The first position at or after p whose character the value cannot
                    // hold, and the nearest position after p the rest matches from.
                    let mut run_end = n;
                    let mut nearest = next[n].then_some(n);
                    for (p, c) in uri.char_indices().rev() {
                        if !var.class.allows(c) {
                            run_end = p;
                        }
                        cur[p] = nearest.is_some_and(|q| {
                            q <= run_end
                                && match (var.max_chars, &units) {
                                    (Some(max), Some(units)) => {
                                        (units[q] - units[p]) as usize <= max
                                    }
                                    _ => true,
                                }
                        });
                        if next[p] {
                            nearest = Some(p);
                        }
                    }
                }
                Atom::Query { lead, .. } => {
                    // The first `#` after p: where a query starting at p ends.
                    let mut hash = n;
                    for p in (0..=n).rev() {
                        cur[p] = if bytes.get(p) == Some(lead) {
                            next[hash]
                        } else {
                            next[p]
                        };
                        if bytes.get(p) == Some(&b'#') {
                            hash = p;
                        }
                    }
                }
            }
        }
        ok
    }

    /// The left-to-right pass: each variable takes the shortest value after which the rest
    /// of the template matches.
    fn extract(&self, uri: &str, ok: &Tails) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut p = 0;
        for (i, atom) in self.atoms.iter().enumerate() {
            match atom {
                Atom::Literal(lit) => p += lit.len(),
                Atom::Var(var) => {
                    let q = (p + 1..=uri.len())
                        .find(|&q| ok.fits(i + 1, q))
                        .expect("the first pass found a value");
                    let raw = &uri[p..q];
                    let value = match var.explode_sep {
                        Some(sep) => decode(&raw.replace(sep, ",")),
                        None => decode(raw),
                    };
                    out.push((var.name.clone(), value));
                    p = q;
                }
                Atom::Query { lead, names } => {
                    if uri.as_bytes().get(p) != Some(lead) {
                        continue;
                    }
                    let end = uri[p..].find('#').map_or(uri.len(), |e| p + e);
                    for pair in uri[p + 1..end].split('&') {
                        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                        if names.iter().any(|n| n == name) {
                            out.push((name.to_owned(), decode(value)));
                        }
                    }
                    p = end;
                }
            }
        }
        out
    }
}

/// Per atom and position: whether the atoms from there on match the URI from there on.
struct Tails {
    width: usize,
    bits: Vec<bool>,
}

impl Tails {
    fn fits(&self, atom: usize, position: usize) -> bool {
        self.bits[atom * self.width + position]
    }
}

/// For each byte position, how many characters start before it, a percent-encoded triplet
/// counting as one.
fn units_before(uri: &str) -> Vec<u32> {
    let bytes = uri.as_bytes();
    let mut units = vec![0u32; uri.len() + 1];
    let mut count = 0u32;
    let mut inside_triplet = 0;
    for (i, c) in uri.char_indices() {
        units[i] = count;
        if inside_triplet > 0 {
            inside_triplet -= 1;
            continue;
        }
        count += 1;
        let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
        if c == '%' && hex(i + 1) && hex(i + 2) {
            inside_triplet = 2;
        }
    }
    units[uri.len()] = count;
    units
}

fn parse_expr(body: &str, source: &str, atoms: &mut Vec<Atom>) -> Result<(), TemplateError> {
    let (op, list) = match body.chars().next() {
        Some('+') => (Op::Reserved, &body[1..]),
        Some('#') => (Op::Fragment, &body[1..]),
        Some('.') => (Op::Label, &body[1..]),
        Some('/') => (Op::Path, &body[1..]),
        Some('?') => (Op::Query, &body[1..]),
        Some('&') => (Op::QueryContinue, &body[1..]),
        Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '%' => (Op::Simple, body),
        _ => {
            return Err(TemplateError(format!(
                "unsupported expression {{{body}}} in {source:?}"
            )))
        }
    };
    let mut vars = Vec::new();
    for spec in list.split(',') {
        let (spec, explode) = match spec.strip_suffix('*') {
            Some(s) => (s, true),
            None => (spec, false),
        };
        let (name, max_chars) = match spec.split_once(':') {
            None => (spec, None),
            Some((name, max)) => match max.parse::<usize>() {
                Ok(max) if (1..10_000).contains(&max) && !explode => (name, Some(max)),
                _ => {
                    return Err(TemplateError(format!(
                        "invalid prefix {spec:?} in {source:?} (expected `name:N`, N from 1 to 9999, not exploded)"
                    )))
                }
            },
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '%')
        {
            return Err(TemplateError(format!(
                "invalid variable {spec:?} in {source:?}"
            )));
        }
        vars.push((name, explode, max_chars));
    }
    if let Op::Query | Op::QueryContinue = op {
        atoms.push(Atom::Query {
            lead: if op == Op::Query { b'?' } else { b'&' },
            names: vars.iter().map(|(name, ..)| (*name).to_owned()).collect(),
        });
        return Ok(());
    }
    let (prefix, separator) = match op {
        Op::Fragment => (Some("#"), ','),
        Op::Label => (Some("."), '.'),
        Op::Path => (Some("/"), '/'),
        _ => (None, ','),
    };
    if let Some(prefix) = prefix {
        atoms.push(Atom::Literal(prefix.to_owned()));
    }
    let several = vars.len() > 1;
    for (i, (name, explode, max_chars)) in vars.into_iter().enumerate() {
        if i > 0 {
            atoms.push(Atom::Literal(separator.to_string()));
        }
        atoms.push(Atom::Var(Var {
            name: name.to_owned(),
            class: Class {
                op,
                slash: explode,
                separator: (several && !explode).then_some(separator),
            },
            max_chars,
            explode_sep: (explode && separator != ',').then_some(separator),
        }));
    }
    Ok(())
}

fn decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
        UriTemplate::parse(template).unwrap().matches(uri)
    }

    fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            p.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn simple_variables_stop_at_slashes() {
        assert_eq!(
            vars("users://{id}/profile", "users://42/profile"),
            pairs(&[("id", "42")])
        );
        assert_eq!(
            vars("test://template/{id}/data", "test://template/abc/data"),
            pairs(&[("id", "abc")])
        );
        assert_eq!(vars("users://{id}/profile", "users://4/2/profile"), None);
        assert_eq!(vars("users://{id}/profile", "users:///profile"), None);
        assert_eq!(
            vars("users://{id}", "users://a%20b"),
            pairs(&[("id", "a b")])
        );
    }

    #[test]
    fn several_variables_and_lists() {
        assert_eq!(
            vars(
                "repo://{owner}/{name}/issues/{n}",
                "repo://me/oxmcp/issues/7"
            ),
            pairs(&[("owner", "me"), ("name", "oxmcp"), ("n", "7")])
        );
        assert_eq!(
            vars("pt://{x,y}", "pt://1,2"),
            pairs(&[("x", "1"), ("y", "2")])
        );
    }

    #[test]
    fn reserved_and_path_operators() {
        assert_eq!(
            vars("file:///{+path}", "file:///a/b/c.txt"),
            pairs(&[("path", "a/b/c.txt")])
        );
        assert_eq!(
            vars("docs://root{/section}", "docs://root/intro"),
            pairs(&[("section", "intro")])
        );
        assert_eq!(
            vars("x://{id}.{ext}", "x://report.pdf"),
            pairs(&[("id", "report"), ("ext", "pdf")])
        );
    }

    #[test]
    fn query_parameters_are_optional() {
        assert_eq!(
            vars("search://items{?q,limit}", "search://items?q=rust&limit=5"),
            pairs(&[("q", "rust"), ("limit", "5")])
        );
        assert_eq!(
            vars("search://items{?q,limit}", "search://items"),
            pairs(&[])
        );
        assert_eq!(vars("search://items{?q}", "search://other"), None);
    }

    #[test]
    fn lists_use_each_operator_separator() {
        assert_eq!(
            vars("map://{/x,y}", "map:///1024/768"),
            pairs(&[("x", "1024"), ("y", "768")])
        );
        assert_eq!(
            vars("img://logo{.w,h}", "img://logo.64.32"),
            pairs(&[("w", "64"), ("h", "32")])
        );
        assert_eq!(
            vars("tree://root{/path*}", "tree://root/a/b/c"),
            pairs(&[("path", "a,b,c")])
        );
        assert_eq!(vars("map://{/x,y}", "map:///1024"), None);
        assert_eq!(
            vars("page://{+base}#{frag}", "page://a/b#top"),
            pairs(&[("base", "a/b"), ("frag", "top")])
        );
        // The shortest value after which the rest still fits.
        assert_eq!(
            vars("x://{a}.{b}.z", "x://p.q.r.z"),
            pairs(&[("a", "p"), ("b", "q.r")])
        );
    }

    #[test]
    fn prefixes_bound_the_value() {
        assert_eq!(vars("user://{id:3}", "user://abc"), pairs(&[("id", "abc")]));
        assert_eq!(vars("user://{id:3}", "user://abcd"), None);
        // A percent-encoded character counts once.
        assert_eq!(
            vars("user://{id:3}", "user://a%20c"),
            pairs(&[("id", "a c")])
        );
        assert!(UriTemplate::parse("user://{id:0}").is_err());
        assert!(UriTemplate::parse("user://{id:x}").is_err());
    }

    /// Matching is linear in the URI's length: a million-character value is matched in well
    /// under a second even in a debug build (trying every end of the value, as before, took
    /// minutes).
    #[test]
    fn huge_values_match_in_linear_time() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let big = "a".repeat(1_000_000);
            let results = [
                vars("users://{id}/profile", &format!("users://{big}/profile")),
                vars("file:///{+path}", &format!("file:///{big}/b.txt")),
                vars(
                    "x://{a}.{b}/z",
                    &format!("x://{}/y/z", "a.".repeat(500_000)),
                ),
                vars("q://s{?q,r}", &format!("q://s?q={big}&r=1")),
            ];
            let _ = tx.send((big, results));
        });
        let (big, [profile, path, miss, query]) = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("matching a 1,000,000-character URI finishes within 5 s");
        assert_eq!(profile, pairs(&[("id", &big)]));
        assert_eq!(path, pairs(&[("path", &format!("{big}/b.txt"))]));
        assert_eq!(miss, None);
        assert_eq!(query, pairs(&[("q", &big), ("r", "1")]));
    }

    #[test]
    fn bad_templates_are_rejected() {
        assert!(UriTemplate::parse("x://{unclosed").is_err());
        assert!(UriTemplate::parse("x://{}").is_err());
        assert!(UriTemplate::parse("x://a}b").is_err());
        assert_eq!(
            UriTemplate::parse("a://{x}/{+y}").unwrap().variables(),
            ["x", "y"]
        );
    }
}
