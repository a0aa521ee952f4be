//! `notes`: a notes server guarded by scopes (the course's chapters 14 and 15).
//!
//! Tools `list_notes` (scope `notes:read`), `add_note` (`notes:write`), `delete_note`
//! (`notes:admin`); the resource template `notes://{id}` (`notes:read`); the prompt
//! `summarize_notes`. `notes:admin` implies `notes:write`, which implies `notes:read`.
//!
//! ```text
//! notes                                   stdio, no auth
//! notes --http ADDR --api-keys FILE       FILE: {"key": {"sub": "...", "scopes": ["..."]}}
//! notes --http ADDR --jwks PATH_OR_URL --issuer ISS [--audience AUD]
//! notes --http ADDR --issuer ISS [--audience AUD]       keys discovered from the issuer
//! notes --http ADDR --introspect URL --client-id ID --client-secret S
//! notes --http ADDR --builtin-as [--auto-approve SUBJECT] [--client ID[:SECRET]=REDIRECT_URI]...
//! ```
//!
//! Over HTTP the endpoint is `http://ADDR/mcp`, its Protected Resource Metadata at
//! `http://ADDR/.well-known/oauth-protected-resource/mcp`; the default audience of JWTs is
//! `http://ADDR/mcp`.
//!
//! `--builtin-as` serves the built-in authorization server (`oxmcp::auth_server`) on the
//! same listener, issuer `http://ADDR`: the metadata names it, and the tokens it issues
//! are verified with its keys, read in-process. `--auto-approve SUBJECT` approves every
//! authorization request as SUBJECT (development only); without it, a login page accepts
//! any user name with the password in the environment variable `NOTES_PASSWORD`. Each
//! `--client` registers a client up front (public, or confidential with `:SECRET`);
//! clients may also register themselves (RFC 7591) or use a metadata document URL.
//! `NOTES_ACCESS_TOKEN_TTL` (seconds, default 3600) sets how long its access tokens live,
//! so that tests can watch a client refresh them.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use oxmcp::auth_server::{AuthorizationServer, AutoApprove, Client, LoginPage};
use oxmcp::server::auth::{
    AnyOf, ApiKeys, Auth, Cached, Introspection, Jwks, JwtVerifier, ProtectedResource, ScopePolicy,
};
use oxmcp::server::http::HttpConfig;
use oxmcp::server::{prompt, resource, tool, Args, Router, State, ToolError, Uri};
use schemars::JsonSchema;
use serde::Deserialize;

/// The notes, by id.
#[derive(Clone, Default)]
struct Notes(Arc<Mutex<BTreeMap<u64, (String, String)>>>);

impl Notes {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, (String, String)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Who wrote a note: the caller's subject, or `anonymous` over stdio.
fn author(auth: &Option<Auth>) -> String {
    auth.as_ref()
        .map_or_else(|| "anonymous".to_owned(), |a| a.subject().to_owned())
}

async fn list_notes(State(notes): State<Notes>) -> String {
    let notes = notes.lock();
    if notes.is_empty() {
        return "no notes".to_owned();
    }
    notes
        .iter()
        .map(|(id, (by, text))| format!("{id}: {text} ({by})"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Deserialize, JsonSchema)]
struct AddNote {
    /// The note's text.
    text: String,
}

async fn add_note(
    State(notes): State<Notes>,
    auth: Option<Auth>,
    Args(args): Args<AddNote>,
) -> String {
    let mut notes = notes.lock();
    let id = notes.keys().next_back().map_or(1, |last| last + 1);
    notes.insert(id, (author(&auth), args.text));
    format!("added note {id}")
}

#[derive(Deserialize, JsonSchema)]
struct DeleteNote {
    /// The id of the note to delete.
    id: u64,
}

async fn delete_note(
    State(notes): State<Notes>,
    Args(args): Args<DeleteNote>,
) -> Result<String, ToolError> {
    match notes.lock().remove(&args.id) {
        Some(_) => Ok(format!("deleted note {}", args.id)),
        None => Err(ToolError::execution(format!("no note {}", args.id))),
    }
}

#[derive(Deserialize)]
struct NoteId {
    id: u64,
}

async fn read_note(
    State(notes): State<Notes>,
    Uri(note): Uri<NoteId>,
) -> Result<String, ToolError> {
    notes
        .lock()
        .get(&note.id)
        .map(|(_, text)| text.clone())
        .ok_or_else(|| ToolError::execution(format!("no note {}", note.id)))
}

async fn summarize_notes(State(notes): State<Notes>) -> String {
    let texts: Vec<String> = notes.lock().values().map(|(_, t)| t.clone()).collect();
    format!(
        "Summarize these notes in a few sentences:\n\n{}",
        texts.join("\n")
    )
}

fn router() -> Router {
    let policy = ScopePolicy::new()
        .implies("notes:admin", ["notes:write"])
        .implies("notes:write", ["notes:read"]);
    Router::new()
        .name("notes")
        .scope_policy(policy)
        .tool(
            "list_notes",
            tool(list_notes)
                .description("Lists every note")
                .scopes(["notes:read"]),
        )
        .tool(
            "add_note",
            tool(add_note)
                .description("Adds a note")
                .scopes(["notes:write"]),
        )
        .tool(
            "delete_note",
            tool(delete_note)
                .description("Deletes a note")
                .scopes(["notes:admin"]),
        )
        .resource_template(
            "notes://{id}",
            resource(read_note)
                .name("note")
                .mime_type("text/plain")
                .scopes(["notes:read"]),
        )
        .prompt(
            "summarize_notes",
            prompt(summarize_notes).description("Asks for a summary of the notes"),
        )
        .with_state(Notes::default())
}

/// The command line.
#[derive(Default)]
struct Options {
    http: Option<String>,
    api_keys: Option<String>,
    jwks: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    introspect: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    builtin_as: bool,
    auto_approve: Option<String>,
    clients: Vec<String>,
}

const USAGE: &str = "usage: notes [--http ADDR [--api-keys FILE] [--jwks PATH_OR_URL] [--issuer ISS] [--audience AUD] [--introspect URL --client-id ID --client-secret S] [--builtin-as [--auto-approve SUBJECT] [--client ID[:SECRET]=REDIRECT_URI]...]]";

/// The scopes of the notes server, weakest first.
const SCOPES: [&str; 3] = ["notes:read", "notes:write", "notes:admin"];

fn options() -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "--builtin-as" {
            options.builtin_as = true;
            continue;
        }
        let mut client = None;
        let slot = match flag.as_str() {
            "--http" => &mut options.http,
            "--api-keys" => &mut options.api_keys,
            "--jwks" => &mut options.jwks,
            "--issuer" => &mut options.issuer,
            "--audience" => &mut options.audience,
            "--introspect" => &mut options.introspect,
            "--client-id" => &mut options.client_id,
            "--client-secret" => &mut options.client_secret,
            "--auto-approve" => &mut options.auto_approve,
            "--client" => &mut client,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        };
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        *slot = Some(value);
        if let Some(client) = client {
            options.clients.push(client);
        }
    }
    if !options.builtin_as && (options.auto_approve.is_some() || !options.clients.is_empty()) {
        return Err(format!(
            "--auto-approve and --client need --builtin-as\n{USAGE}"
        ));
    }
    Ok(options)
}

/// The verifier the flags ask for, and the authorization server to name in the metadata.
fn verifier(
    options: &Options,
    resource: &str,
    builtin: Option<&AuthorizationServer>,
) -> Result<(AnyOf, Option<String>), String> {
    let mut verifier = AnyOf::new();
    let mut configured = false;
    if let Some(file) = &options.api_keys {
        verifier = verifier.or(ApiKeys::from_file(file).map_err(|e| e.to_string())?);
        configured = true;
    }
    let audience = options
        .audience
        .clone()
        .unwrap_or_else(|| resource.to_owned());
    if let Some(issuer) = &options.issuer {
        let keys = match &options.jwks {
            Some(source) => Jwks::from_path_or_url(source).map_err(|e| e.to_string())?,
            None => Jwks::discover(issuer),
        };
        verifier = verifier.or(Cached::new(
            JwtVerifier::new(keys, issuer).audience(audience.clone()),
        ));
        configured = true;
    } else if options.jwks.is_some() {
        return Err("--jwks needs --issuer ISS".to_owned());
    }
    if let Some(url) = &options.introspect {
        let (Some(id), Some(secret)) = (&options.client_id, &options.client_secret) else {
            return Err("--introspect needs --client-id ID and --client-secret S".to_owned());
        };
        verifier = verifier.or(Introspection::new(url, id, secret).audience(audience));
        configured = true;
    }
    let mut issuer = options.issuer.clone();
    if let Some(server) = builtin {
        // The keys are read in-process: no request to our own listener.
        let keys = Jwks::from_json(&server.jwks().to_string()).map_err(|e| e.to_string())?;
        verifier = verifier.or(Cached::new(
            JwtVerifier::new(keys, server.issuer()).audience(resource),
        ));
        issuer = Some(server.issuer().to_owned());
        configured = true;
    }
    if !configured {
        return Err(format!(
            "--http needs a way to check tokens: --api-keys, --jwks/--issuer or --introspect\n{USAGE}"
        ));
    }
    Ok((verifier, issuer))
}

/// The built-in authorization server `--builtin-as` asks for, issuer `http://ADDR`.
fn builtin_as(
    options: &Options,
    addr: &str,
    resource: &str,
) -> Result<AuthorizationServer, String> {
    let mut builder = AuthorizationServer::builder(format!("http://{addr}"))
        .scopes(SCOPES)
        .resources([resource]);
    if let Ok(ttl) = std::env::var("NOTES_ACCESS_TOKEN_TTL") {
        let secs = ttl
            .parse()
            .map_err(|_| format!("NOTES_ACCESS_TOKEN_TTL={ttl:?}: expected a number of seconds"))?;
        builder = builder.access_token_lifetime(std::time::Duration::from_secs(secs));
    }
    builder = match &options.auto_approve {
        Some(subject) => builder.login(AutoApprove::new(subject.clone())),
        None => {
            let password = std::env::var("NOTES_PASSWORD").ok();
            if password.is_none() {
                eprintln!("notes: NOTES_PASSWORD is not set: every login will be refused");
            }
            builder.login(
                LoginPage::new(move |user: String, given: String| {
                    let ok = password.as_deref().is_some_and(|p| p == given) && !user.is_empty();
                    async move { ok.then_some(user) }
                })
                .title("Sign in to notes"),
            )
        }
    };
    for spec in &options.clients {
        let Some((id, redirect)) = spec.split_once('=') else {
            return Err(format!(
                "--client {spec:?}: expected ID[:SECRET]=REDIRECT_URI"
            ));
        };
        builder = builder.client(match id.split_once(':') {
            Some((id, secret)) => Client::confidential(id, secret, [redirect]),
            None => Client::public(id, [redirect]),
        });
    }
    builder.build().map_err(|e| e.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let options = match options() {
        Ok(options) => options,
        Err(why) => {
            eprintln!("{why}");
            return ExitCode::from(2);
        }
    };
    let served: Result<(), Box<dyn std::error::Error>> = match &options.http {
        None => router().serve_stdio().await.map_err(Into::into),
        Some(addr) => {
            let resource = format!("http://{addr}/mcp");
            let builtin = match options
                .builtin_as
                .then(|| builtin_as(&options, addr, &resource))
            {
                None => None,
                Some(Ok(server)) => Some(server),
                Some(Err(why)) => {
                    eprintln!("{why}");
                    return ExitCode::from(2);
                }
            };
            let (verifier, issuer) = match verifier(&options, &resource, builtin.as_ref()) {
                Ok(found) => found,
                Err(why) => {
                    eprintln!("{why}");
                    return ExitCode::from(2);
                }
            };
            let mut protected =
                ProtectedResource::new(&resource, verifier).scopes_supported(SCOPES);
            if let Some(issuer) = issuer {
                protected = protected.authorization_server(issuer);
            }
            // The authorization server's routes share the listener and its limits
            // (header, body and idle timeouts, connection cap, drain on SIGTERM).
            let mut serve = router()
                .http(addr.clone())
                .config(HttpConfig::new().auth(protected));
            if let Some(server) = builtin {
                tracing::info!(
                    issuer = server.issuer(),
                    "notes with the built-in authorization server"
                );
                serve = serve.routes(server.router());
            }
            serve.await.map_err(Into::into)
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("notes: {e}");
            ExitCode::FAILURE
        }
    }
}
