//! `database`: the course's database server (chapter 9). SQLite (bundled, nothing to
//! install) or PostgreSQL, through the same sqlx code; read-only unless `--write`, and the
//! database itself enforces it.
//!
//! ```text
//! database --db FILE|postgres://USER@HOST/DB [--write] [--http ADDR]
//!          [--timeout MS] [--max-rows N] [--audit FILE]
//! ```
//!
//! Tools: `list_tables`, `get_table {table, limit, offset}` (the table must be one that
//! `list_tables` names; paging bound as parameters), `query {sql}` (one statement). The
//! resource `db://schema` describes every table's columns. Each statement is stopped after
//! `--timeout` milliseconds (default 5000) and returns at most `--max-rows` rows (default
//! 500). Every call is written to the audit log, one JSON object a line: stderr, or
//! `--audit FILE` (appended).
//!
//! Over stdio by default, or over Streamable HTTP at `http://ADDR/mcp` with `--http ADDR`.

mod audit;
mod db;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxmcp::server::{resource, tool, Args, Json, Router, State, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::audit::Audit;
use crate::db::{Db, Limits, Rows, Statement};

/// The server's state.
struct Server {
    db: Db,
    limits: Limits,
    audit: Audit,
}

type St = State<Arc<Server>>;

impl Server {
    /// Runs `work`, writing what it did to the audit log.
    async fn audited<T>(
        &self,
        tool: &str,
        detail: Value,
        work: impl std::future::Future<Output = Result<T, String>>,
        count: impl Fn(&T) -> usize,
    ) -> Result<T, ToolError> {
        let started = Instant::now();
        let outcome = work.await;
        let mut entry = json!({
            "tool": tool,
            "detail": detail,
            "ms": started.elapsed().as_millis() as u64,
        });
        match &outcome {
            Ok(value) => entry["rows"] = json!(count(value)),
            Err(e) => entry["error"] = json!(e),
        }
        self.audit.write(entry).await;
        outcome.map_err(ToolError::execution)
    }

    /// `table`, if the database has a table of that name: the allow-list of identifiers.
    async fn known_table(&self, table: &str) -> Result<(), String> {
        let tables = self.db.tables(self.limits).await?;
        if tables.iter().any(|t| t == table) {
            Ok(())
        } else {
            Err(format!(
                "no table {table:?}; the tables are: {}",
                tables.join(", ")
            ))
        }
    }
}

async fn list_tables(State(s): St) -> Result<String, ToolError> {
    let tables = s
        .audited("list_tables", Value::Null, s.db.tables(s.limits), Vec::len)
        .await?;
    Ok(if tables.is_empty() {
        "(no tables)".into()
    } else {
        tables.join("\n")
    })
}

#[derive(Deserialize, JsonSchema)]
struct GetTable {
    /// The table's name, as `list_tables` gives it.
    table: String,
    /// How many rows (default 50, at most the server's row cap).
    #[serde(default = "default_limit")]
    #[schemars(range(min = 0))]
    limit: i64,
    /// How many rows to skip first (default 0).
    #[serde(default)]
    #[schemars(range(min = 0))]
    offset: i64,
}

fn default_limit() -> i64 {
    50
}

async fn get_table(State(s): St, Args(args): Args<GetTable>) -> Result<Json<Rows>, ToolError> {
    let detail = json!({"table": args.table, "limit": args.limit, "offset": args.offset});
    let work = async {
        if args.limit < 0 || args.offset < 0 {
            return Err("limit and offset must be 0 or more".to_owned());
        }
        s.known_table(&args.table).await?;
        let limit = args.limit.min(s.limits.max_rows as i64);
        s.db.page(&args.table, limit, args.offset, s.limits).await
    };
    let rows = s
        .audited("get_table", detail, work, |r| r.rows.len())
        .await?;
    Ok(Json(rows))
}

#[derive(Deserialize, JsonSchema)]
struct Query {
    /// One SQL statement. Read-only unless the server runs with `--write`.
    sql: String,
}

async fn query(State(s): St, Args(args): Args<Query>) -> Result<Json<Rows>, ToolError> {
    let detail = json!({"sql": args.sql});
    let statement = Statement {
        sql: &args.sql,
        params: &[],
    };
    let rows = s
        .audited("query", detail, s.db.run(statement, s.limits), |r| {
            r.rows.len()
        })
        .await?;
    Ok(Json(rows))
}

/// `db://schema`: every table with its columns.
async fn schema(State(s): St) -> Result<Json<Value>, ToolError> {
    let work = async {
        let mut tables = serde_json::Map::new();
        for table in s.db.tables(s.limits).await? {
            let columns = s.db.columns(&table, s.limits).await?;
            tables.insert(table, json!({ "columns": columns }));
        }
        Ok(Value::Object(tables))
    };
    let tables = s
        .audited("schema", Value::Null, work, |t| {
            t.as_object().map_or(0, |o| o.len())
        })
        .await?;
    Ok(Json(json!({ "tables": tables })))
}

/// The command line.
struct Options {
    db: String,
    write: bool,
    http: Option<String>,
    timeout: Duration,
    max_rows: usize,
    audit: Option<String>,
}

const USAGE: &str = "usage: database --db FILE|postgres://... [--write] [--http ADDR] \
[--timeout MS] [--max-rows N] [--audit FILE]";

fn options() -> Result<Options, String> {
    let mut db = None;
    let mut write = false;
    let mut http = None;
    let mut timeout = 5000;
    let mut max_rows = 500;
    let mut audit = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--write" => {
                write = true;
                continue;
            }
            "--help" | "-h" => return Err(USAGE.into()),
            _ => {}
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not {value:?}"))
        };
        match flag.as_str() {
            "--db" => db = Some(value.clone()),
            "--http" => http = Some(value.clone()),
            "--timeout" => timeout = number()?.max(1),
            "--max-rows" => max_rows = number()?.max(1) as usize,
            "--audit" => audit = Some(value.clone()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Options {
        db: db.ok_or_else(|| format!("--db is required\n{USAGE}"))?,
        write,
        http,
        timeout: Duration::from_millis(timeout),
        max_rows,
        audit,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("database: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let options = options()?;
    let db = Db::open(&options.db, options.write).await?;
    if db.is_superuser().await {
        eprintln!(
            "database: warning: connected as a PostgreSQL superuser; read-only transactions \
             do not stop superuser-only commands (COPY ... TO PROGRAM): connect as a role \
             with only the rights it needs"
        );
    }
    let audit = Audit::open(options.audit.as_deref()).await?;
    let server = Arc::new(Server {
        db,
        limits: Limits {
            write: options.write,
            timeout: options.timeout,
            max_rows: options.max_rows,
        },
        audit,
    });
    let query_description = if options.write {
        "Runs one SQL statement (changes allowed) and returns its rows"
    } else {
        "Runs one read-only SQL statement and returns its rows (the database refuses changes)"
    };
    let query_tool = tool(query).description(query_description);
    let query_tool = if options.write {
        query_tool
    } else {
        query_tool.read_only()
    };
    let router = Router::new()
        .name("database")
        .version(env!("CARGO_PKG_VERSION"))
        .tool(
            "list_tables",
            tool(list_tables)
                .description("Lists the tables of the database")
                .read_only(),
        )
        .tool(
            "get_table",
            tool(get_table)
                .description("Returns a page of a table's rows")
                .read_only(),
        )
        .tool("query", query_tool)
        .resource(
            "db://schema",
            resource(schema)
                .name("schema")
                .description("Every table with its columns: name, type, nullable")
                .mime_type("application/json"),
        )
        .with_state(server);
    let served = match options.http {
        Some(addr) => router.serve_http(addr).await,
        None => router.serve_stdio().await,
    };
    served.map_err(|e| e.to_string())
}
