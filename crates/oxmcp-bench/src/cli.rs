//! A small command-line parser shared by the binaries (no extra dependency).

use std::collections::HashMap;
use std::str::FromStr;

/// Parsed command-line arguments: `--name value` options, `--switch` flags and
/// positional arguments, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    options: HashMap<String, String>,
    switches: Vec<String>,
    /// Arguments that are not options, in order.
    pub positional: Vec<String>,
}

impl Args {
    /// Parses `args` (without the program name). `options` take a value, given
    /// as `--name value` or `--name=value`; `switches` take none. Anything else
    /// starting with `--` is an error; `--` ends option parsing.
    pub fn parse<I>(args: I, options: &[&str], switches: &[&str]) -> Result<Args, String>
    where
        I: IntoIterator<Item = String>,
    {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--" {
                parsed.positional.extend(args.by_ref());
                break;
            }
            let Some(flag) = arg.strip_prefix("--") else {
                parsed.positional.push(arg);
                continue;
            };
            let (name, inline) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (flag, None),
            };
            if switches.contains(&name) && inline.is_none() {
                parsed.switches.push(name.to_owned());
            } else if options.contains(&name) {
                let value = match inline {
                    Some(value) => value,
                    None => args
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                };
                parsed.options.insert(name.to_owned(), value);
            } else {
                return Err(format!("unknown option --{name}"));
            }
        }
        Ok(parsed)
    }

    /// Whether switch `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    /// The raw value of option `--name`, if given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// Option `--name` parsed as `T`, or `default` when absent.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.value(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|e| format!("--{name} {value:?}: {e}")),
        }
    }

    /// Option `--name` as a comma-separated list of `T`, or `default` when absent.
    pub fn list<T: FromStr>(&self, name: &str, default: Vec<T>) -> Result<Vec<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.value(name) {
            None => Ok(default),
            Some(value) => value
                .split(',')
                .map(|item| {
                    item.trim()
                        .parse()
                        .map_err(|e| format!("--{name} {item:?}: {e}"))
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        let args = args.iter().map(|s| s.to_string());
        Args::parse(args, &["reps", "inflight"], &["json"])
    }

    #[test]
    fn options_switches_positionals() {
        let args = parse(&["a=b", "--reps", "3", "--json", "--inflight=1,32", "c"]).unwrap();
        assert_eq!(args.positional, ["a=b", "c"]);
        assert!(args.switch("json"));
        assert_eq!(args.get("reps", 5usize), Ok(3));
        assert_eq!(args.list("inflight", vec![1usize]), Ok(vec![1, 32]));
        assert_eq!(args.get("missing", 7u32), Ok(7));
        assert!(args.get::<u32>("inflight", 0).is_err());
    }

    #[test]
    fn errors() {
        assert!(parse(&["--nope"]).is_err());
        assert!(parse(&["--reps"]).is_err());
        assert_eq!(parse(&["--", "--json"]).unwrap().positional, ["--json"]);
    }
}
