//! The database, SQLite or PostgreSQL, through sqlx.
//!
//! Read-only is the database's job, not a string check: SQLite is opened read-only
//! (`SQLITE_OPEN_READONLY`), and on PostgreSQL every statement runs alone (the extended
//! protocol takes one statement) in a transaction set `READ ONLY`, rolled back after. The
//! time limit is the database's too: SQLite's progress handler aborts the statement, and
//! PostgreSQL's `statement_timeout` is set for the transaction.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use serde_json::{Map, Value};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Column as _, Executor as _, Row as _, TypeInfo as _, ValueRef as _};

/// An open database.
pub enum Db {
    /// A SQLite file.
    Sqlite(SqlitePool),
    /// A PostgreSQL server.
    Postgres(PgPool),
}

/// The limits of one statement.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Whether statements may change the database.
    pub write: bool,
    /// How long a statement may run.
    pub timeout: Duration,
    /// The most rows returned.
    pub max_rows: usize,
}

/// What a statement returned.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Rows {
    /// The rows, each an object of column name to value.
    pub rows: Vec<Map<String, Value>>,
    /// Whether more rows were left out (`max_rows`).
    pub truncated: bool,
    /// Rows changed, for statements that change rows (with `--write`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_affected: Option<u64>,
}

/// One column of a table.
#[derive(Debug, serde::Serialize)]
pub struct ColumnInfo {
    /// The column's name.
    pub name: String,
    /// Its declared type.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// A statement and its parameters.
pub struct Statement<'a> {
    /// The SQL.
    pub sql: &'a str,
    /// Integer parameters, bound in order.
    pub params: &'a [i64],
}

impl Db {
    /// Opens `spec`: a `postgres://` or `postgresql://` URL, or a SQLite file (optionally
    /// `sqlite://FILE`). Read-only unless `write`; a missing SQLite file is created only
    /// with `write`.
    pub async fn open(spec: &str, write: bool) -> Result<Db, String> {
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            let options: PgConnectOptions = spec
                .parse()
                .map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
            return Ok(Db::Postgres(pool));
        }
        let path = spec.strip_prefix("sqlite://").unwrap_or(spec);
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(!write)
            .create_if_missing(write);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| format!("cannot open the SQLite database {path}: {e}"))?;
        Ok(Db::Sqlite(pool))
    }

    /// Whether PostgreSQL lets this login do anything (a superuser): read-only
    /// transactions do not stop `COPY ... TO PROGRAM` and the like; worth a warning.
    pub async fn is_superuser(&self) -> bool {
        match self {
            Db::Sqlite(_) => false,
            Db::Postgres(pool) => sqlx::query_scalar::<_, bool>(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            )
            .fetch_one(pool)
            .await
            .unwrap_or(false),
        }
    }

    /// Runs one statement within `limits`.
    pub async fn run(&self, statement: Statement<'_>, limits: Limits) -> Result<Rows, String> {
        let outcome = match self {
            Db::Sqlite(pool) => sqlite_run(pool, statement, limits).await,
            Db::Postgres(pool) => postgres_run(pool, statement, limits).await,
        };
        outcome.map_err(|e| describe(&e, limits))
    }

    /// The tables (of the current schema on PostgreSQL), sorted.
    pub async fn tables(&self, limits: Limits) -> Result<Vec<String>, String> {
        let sql = match self {
            Db::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Db::Postgres(_) => {
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY name"
            }
        };
        let limits = Limits {
            write: false,
            max_rows: usize::MAX,
            ..limits
        };
        let rows = self.run(Statement { sql, params: &[] }, limits).await?;
        Ok(rows
            .rows
            .iter()
            .filter_map(|r| r.get("name")?.as_str().map(str::to_owned))
            .collect())
    }

    /// The columns of `table`, which must be one of [`tables`](Self::tables).
    pub async fn columns(&self, table: &str, limits: Limits) -> Result<Vec<ColumnInfo>, String> {
        let sql = match self {
            Db::Sqlite(_) => format!(
                "SELECT name, type, \"notnull\" = 0 AS nullable FROM pragma_table_info({})",
                quote_literal(table)
            ),
            Db::Postgres(_) => format!(
                "SELECT column_name::text AS name, data_type::text AS type, \
                 is_nullable = 'YES' AS nullable FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = {} \
                 ORDER BY ordinal_position",
                quote_literal(table)
            ),
        };
        let limits = Limits {
            write: false,
            max_rows: usize::MAX,
            ..limits
        };
        let rows = self
            .run(
                Statement {
                    sql: &sql,
                    params: &[],
                },
                limits,
            )
            .await?;
        Ok(rows
            .rows
            .into_iter()
            .map(|r| ColumnInfo {
                name: r
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                ty: r
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                nullable: matches!(r.get("nullable"), Some(Value::Bool(true)))
                    || r.get("nullable").and_then(Value::as_i64) == Some(1),
            })
            .collect())
    }

    /// A page of `table`, which must be one of [`tables`](Self::tables), ordered by its
    /// first column so that pages do not overlap: the name is quoted as an identifier,
    /// the paging is bound as parameters.
    pub async fn page(
        &self,
        table: &str,
        limit: i64,
        offset: i64,
        limits: Limits,
    ) -> Result<Rows, String> {
        let placeholders = match self {
            Db::Sqlite(_) => ("?", "?"),
            Db::Postgres(_) => ("$1", "$2"),
        };
        let sql = format!(
            "SELECT * FROM {} ORDER BY 1 LIMIT {} OFFSET {}",
            quote_identifier(table),
            placeholders.0,
            placeholders.1
        );
        let limits = Limits {
            write: false,
            ..limits
        };
        self.run(
            Statement {
                sql: &sql,
                params: &[limit, offset],
            },
            limits,
        )
        .await
    }
}

/// `name` as an SQL identifier (`"name"`, inner quotes doubled).
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as an SQL string literal (`'text'`, inner quotes doubled).
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The client's view of a database error.
fn describe(error: &sqlx::Error, limits: Limits) -> String {
    match error {
        sqlx::Error::Database(e) => {
            let message = e.message();
            let timed_out = message.contains("interrupted")
                || message.contains("statement timeout")
                || e.code().as_deref() == Some("57014");
            if timed_out {
                format!(
                    "the statement ran longer than {} ms and was stopped (--timeout)",
                    limits.timeout.as_millis()
                )
            } else if !limits.write && is_read_only_refusal(message, e.code().as_deref()) {
                format!("the database refused the change: it is open read-only ({message})")
            } else {
                format!("the database refused the statement: {message}")
            }
        }
        other => format!("database error: {other}"),
    }
}

/// Whether the database said it refused to write.
fn is_read_only_refusal(message: &str, code: Option<&str>) -> bool {
    // SQLite: "attempt to write a readonly database"; PostgreSQL: 25006
    // read_only_sql_transaction.
    message.contains("readonly") || code == Some("25006") || code == Some("8")
}

async fn sqlite_run(
    pool: &SqlitePool,
    statement: Statement<'_>,
    limits: Limits,
) -> Result<Rows, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let deadline = Instant::now() + limits.timeout;
    // Every 1000 virtual machine steps: past the deadline, SQLite aborts the statement.
    conn.lock_handle()
        .await?
        .set_progress_handler(1000, move || Instant::now() < deadline);
    let mut query = sqlx::query(statement.sql);
    for p in statement.params {
        query = query.bind(*p);
    }
    let outcome = collect(
        (&mut *conn).fetch_many(query),
        limits.max_rows,
        sqlite_value,
    )
    .await;
    conn.lock_handle().await?.remove_progress_handler();
    outcome
}

async fn postgres_run(
    pool: &PgPool,
    statement: Statement<'_>,
    limits: Limits,
) -> Result<Rows, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !limits.write {
        sqlx::query("SET TRANSACTION READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(&format!(
        "SET LOCAL statement_timeout = {}",
        limits.timeout.as_millis().max(1)
    ))
    .execute(&mut *tx)
    .await?;
    let mut query = sqlx::query(statement.sql);
    for p in statement.params {
        query = query.bind(*p);
    }
    let outcome = collect(
        (&mut *tx).fetch_many(query),
        limits.max_rows,
        postgres_value,
    )
    .await;
    match &outcome {
        Ok(_) if limits.write => tx.commit().await?,
        _ => tx.rollback().await?,
    }
    outcome
}

/// Gathers at most `max_rows` rows (and the count of rows changed) from a result stream.
async fn collect<R: sqlx::Row, Q>(
    stream: impl futures_util::Stream<Item = Result<sqlx::Either<Q, R>, sqlx::Error>>,
    max_rows: usize,
    value: fn(&R, usize) -> Value,
) -> Result<Rows, sqlx::Error>
where
    Q: RowsAffected,
{
    let mut stream = std::pin::pin!(stream);
    let mut out = Rows {
        rows: Vec::new(),
        truncated: false,
        rows_affected: None,
    };
    while let Some(item) = stream.try_next().await? {
        match item {
            sqlx::Either::Left(done) => {
                let n = done.rows_affected();
                if n > 0 {
                    *out.rows_affected.get_or_insert(0) += n;
                }
            }
            sqlx::Either::Right(row) => {
                if out.rows.len() == max_rows {
                    out.truncated = true;
                    break;
                }
                let mut object = Map::new();
                for (i, column) in row.columns().iter().enumerate() {
                    object.insert(column.name().to_owned(), value(&row, i));
                }
                out.rows.push(object);
            }
        }
    }
    Ok(out)
}

/// The count of rows a statement changed.
pub trait RowsAffected {
    /// The count.
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// A SQLite value as JSON, by its storage class.
fn sqlite_value(row: &SqliteRow, i: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let class = raw.type_info().name().to_owned();
    match class.as_str() {
        "INTEGER" => row.try_get::<i64, _>(i).map_or(Value::Null, Value::from),
        "REAL" => row.try_get::<f64, _>(i).map_or(Value::Null, Value::from),
        "BLOB" => row
            .try_get::<Vec<u8>, _>(i)
            .map_or(Value::Null, |b| Value::from(hex(&b))),
        _ => row
            .try_get_unchecked::<String, _>(i)
            .map_or(Value::Null, Value::from),
    }
}

/// A PostgreSQL value as JSON, by its type; a type without a JSON form says so (cast it to
/// `text` in the query to see it).
fn postgres_value(row: &PgRow, i: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let ty = raw.type_info().name().to_owned();
    let got = match ty.as_str() {
        "BOOL" => row.try_get::<bool, _>(i).map(Value::from),
        "INT2" => row.try_get::<i16, _>(i).map(Value::from),
        "INT4" => row.try_get::<i32, _>(i).map(Value::from),
        "INT8" => row.try_get::<i64, _>(i).map(Value::from),
        "FLOAT4" => row.try_get::<f32, _>(i).map(Value::from),
        "FLOAT8" => row.try_get::<f64, _>(i).map(Value::from),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "UNKNOWN" => {
            row.try_get::<String, _>(i).map(Value::from)
        }
        "JSON" | "JSONB" => row.try_get::<Value, _>(i),
        "BYTEA" => row.try_get::<Vec<u8>, _>(i).map(|b| Value::from(hex(&b))),
        _ => return Value::from(format!("<{ty}: cast to text to see it>")),
    };
    got.unwrap_or_else(|e| Value::from(format!("<{ty}: {e}>")))
}

/// Bytes as `\x` and hex digits.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("\\x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
