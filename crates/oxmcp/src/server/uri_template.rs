//! RFC 6570 URI templates, matched the other way round: which URI fits a template, and
//! with which variables.
//!
//! Supported expressions: `{var}` (one segment, no `/`), `{+var}` and `{#var}` (anything,
//! `/` included), `{/var}` (a `/`-prefixed segment; `{/var*}` takes several), `{.var}`,
//! `{?a,b}` and `{&a}` (query parameters, each optional), and comma lists `{x,y}`. Values
//! are percent-decoded. Prefix modifiers (`{var:3}`) are accepted and ignored.

use std::fmt;

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Expr { op: Op, vars: Vec<Var> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Var {
    name: String,
    explode: bool,
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
        let mut parts = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| TemplateError(format!("unclosed `{{` in {source:?}")))?;
                    parts.push(parse_expr(&rest[1..end], source)?);
                    rest = &rest[end + 1..];
                }
                Some(i) => {
                    parts.push(Part::Literal(rest[..i].to_owned()));
                    rest = &rest[i..];
                }
                None => {
                    if rest.contains('}') {
                        return Err(TemplateError(format!("stray `}}` in {source:?}")));
                    }
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        Ok(UriTemplate {
            source: source.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }

    /// The variable names, in order.
    pub(crate) fn variables(&self) -> Vec<&str> {
        self.parts
            .iter()
            .flat_map(|p| match p {
                Part::Expr { vars, .. } => vars.iter().map(|v| v.name.as_str()).collect(),
                Part::Literal(_) => Vec::new(),
            })
            .collect()
    }

    /// The variables if `uri` fits the template.
    pub(crate) fn matches(&self, uri: &str) -> Option<Vec<(String, String)>> {
        let mut out = Vec::new();
        match_parts(&self.parts, uri, &mut out).then_some(out)
    }
}

fn parse_expr(body: &str, source: &str) -> Result<Part, TemplateError> {
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
        let name = spec.split(':').next().unwrap_or_default();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '%')
        {
            return Err(TemplateError(format!(
                "invalid variable {spec:?} in {source:?}"
            )));
        }
        vars.push(Var {
            name: name.to_owned(),
            explode,
        });
    }
    Ok(Part::Expr { op, vars })
}

fn match_parts(parts: &[Part], input: &str, out: &mut Vec<(String, String)>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return input.is_empty();
    };
    match first {
        Part::Literal(lit) => input
            .strip_prefix(lit.as_str())
            .is_some_and(|tail| match_parts(rest, tail, out)),
        Part::Expr { op, vars } => match op {
            Op::Query | Op::QueryContinue => match_query(*op, vars, rest, input, out),
            _ => match_value_expr(*op, vars, rest, input, out),
        },
    }
}

/// Matches the expression at the start of `input` with every possible length, shortest
/// first, until the rest of the template matches too.
fn match_value_expr(
    op: Op,
    vars: &[Var],
    rest: &[Part],
    input: &str,
    out: &mut Vec<(String, String)>,
) -> bool {
    let prefix = match op {
        Op::Fragment => "#",
        Op::Label => ".",
        Op::Path => "/",
        _ => "",
    };
    let Some(body) = input.strip_prefix(prefix) else {
        return false;
    };
    let allows = |c: char| match op {
        Op::Reserved | Op::Fragment => !c.is_whitespace(),
        Op::Path => {
            !matches!(c, '?' | '#')
                && !c.is_whitespace()
                && (vars.iter().any(|v| v.explode) || c != '/')
        }
        _ => !matches!(c, '/' | '?' | '#' | '&') && !c.is_whitespace(),
    };
    let limit = body
        .char_indices()
        .find(|&(_, c)| !allows(c))
        .map_or(body.len(), |(i, _)| i);
    let mut ends: Vec<usize> = body[..limit]
        .char_indices()
        .map(|(i, _)| i)
        .skip(1)
        .collect();
    ends.push(limit);
    for end in ends {
        let raw = &body[..end];
        let values: Vec<&str> = if vars.len() > 1 {
            raw.split(',').collect()
        } else {
            vec![raw]
        };
        if values.len() != vars.len() || values.iter().any(|v| v.is_empty()) {
            continue;
        }
        let mark = out.len();
        for (var, value) in vars.iter().zip(&values) {
            let value = if var.explode && op == Op::Path {
                value.replace('/', ",")
            } else {
                (*value).to_owned()
            };
            out.push((var.name.clone(), decode(&value)));
        }
        if match_parts(rest, &body[end..], out) {
            return true;
        }
        out.truncate(mark);
    }
    false
}

/// `{?a,b}`: each parameter optional, in any order; the rest must match what follows.
fn match_query(
    op: Op,
    vars: &[Var],
    rest: &[Part],
    input: &str,
    out: &mut Vec<(String, String)>,
) -> bool {
    let lead = if op == Op::Query { '?' } else { '&' };
    let Some(query) = input.strip_prefix(lead) else {
        // No query at all: every parameter is absent.
        return match_parts(rest, input, out);
    };
    let end = query.find('#').unwrap_or(query.len());
    let mark = out.len();
    for pair in query[..end].split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if vars.iter().any(|v| v.name == name) {
            out.push((name.to_owned(), decode(value)));
        }
    }
    if match_parts(rest, &query[end..], out) {
        return true;
    }
    out.truncate(mark);
    false
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
