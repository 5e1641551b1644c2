//! The team (issue 18): `presswire users` and its last-admin guard, API
//! tokens, `presswire audit` and the audit entry of every write, the
//! dashboard login by address and password, and the JSON API under
//! `/api/v1` against a real `presswire serve` (every endpoint with a role
//! that may and one that may not; forged, revoked and disabled tokens; the
//! import's refusal writing nothing; its size limit).

use std::io::Write;
use std::process::{Output, Stdio};

use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{json, Value};

use crate::harness::{each_backend, TestApp};
use crate::web::{client, csrf_of, set_cookie, settings, Server, PASSWORD};

/// The Unix user the CLI's audit entries name.
const UNIX_USER: &str = "pat";
const CLI_ACTOR: &str = "cli:pat";
const USER_PASSWORD: &str = "a long enough password";

/// `presswire ARGS…` as Unix user `pat`, with `stdin` on standard input.
fn cli(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut child = app
        .command()
        .env("USER", UNIX_USER)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// [`cli`] that must succeed; its standard output.
fn cli_ok(app: &TestApp, args: &[&str], stdin: &str) -> String {
    let out = cli(app, args, stdin);
    assert_eq!(
        out.status.code(),
        Some(0),
        "[{}] {args:?}\nstdout:\n{}\nstderr:\n{}",
        app.backend,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// [`cli`] that must fail with exit code 2; its standard error.
fn cli_bad(app: &TestApp, args: &[&str]) -> String {
    let out = cli(app, args, "");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "[{}] {args:?}\n{stderr}",
        app.backend
    );
    stderr
}

/// The audit log as `presswire audit --format json` prints it, oldest first.
fn audit(app: &TestApp) -> Vec<Value> {
    let mut entries: Vec<Value> =
        serde_json::from_str::<Value>(&cli_ok(app, &["audit", "--format", "json"], ""))
            .unwrap()
            .as_array()
            .unwrap()
            .clone();
    entries.reverse();
    entries
}

/// (actor, action, summary) of each entry.
fn audit_lines(app: &TestApp) -> Vec<(String, String, String)> {
    audit(app)
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["summary"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn line(actor: &str, action: &str, summary: &str) -> (String, String, String) {
    (actor.into(), action.into(), summary.into())
}

#[test]
fn team_users_cli_adds_lists_changes_roles_and_keeps_the_last_admin() {
    each_backend(|app| {
        let out = cli_ok(
            app,
            &[
                "users",
                "add",
                "Ada@Press.example",
                "--role",
                "admin",
                "--name",
                "Ada",
                "--password-stdin",
            ],
            &format!("{USER_PASSWORD}\n"),
        );
        assert!(out.contains("added Ada@press.example as admin"), "{out}");
        cli_ok(
            app,
            &["users", "add", "ben@press.example", "--role", "editor"],
            "",
        );
        // The password is kept as an Argon2id hash, never as given.
        let hash =
            app.texts("SELECT password_hash FROM users WHERE email_key = 'ada@press.example'");
        let hash = hash[0][0].clone().unwrap();
        assert!(
            hash.starts_with("$argon2id$") && !hash.contains(USER_PASSWORD),
            "{hash}"
        );

        // Bad input: exit 2 with what to do; nothing written.
        let e = cli_bad(
            app,
            &["users", "add", "ADA@press.example", "--role", "viewer"],
        );
        assert!(
            e.contains("a user with the address Ada@press.example exists already"),
            "{e}"
        );
        let e = cli_bad(app, &["users", "add", "nobody@", "--role", "viewer"]);
        assert!(e.contains("nobody@"), "{e}");
        let e = cli_bad(
            app,
            &["users", "add", "cy@press.example", "--role", "owner"],
        );
        assert!(e.contains("use viewer, editor, sender or admin"), "{e}");
        let out = cli(
            app,
            &[
                "users",
                "add",
                "cy@press.example",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            "short\n",
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
        let e = cli_bad(app, &["users", "role", "zed@press.example", "viewer"]);
        assert!(
            e.contains("no user has the address zed@press.example"),
            "{e}"
        );
        assert_eq!(app.count("SELECT count(*) FROM users"), 2);

        // The last active admin can be neither demoted nor disabled.
        let e = cli_bad(app, &["users", "role", "ada@press.example", "sender"]);
        assert!(
            e.contains("Ada@press.example is the last active admin: make another user admin first"),
            "{e}"
        );
        let e = cli_bad(app, &["users", "disable", "ada@press.example"]);
        assert!(e.contains("is the last active admin"), "{e}");
        // With a second admin, the first may go.
        let out = cli_ok(app, &["users", "role", "ben@press.example", "admin"], "");
        assert!(
            out.contains("ben@press.example is now admin (was editor)"),
            "{out}"
        );
        cli_ok(app, &["users", "disable", "ada@press.example"], "");
        // Now ben is the last active one.
        cli_bad(app, &["users", "role", "ben@press.example", "viewer"]);
        cli_ok(
            app,
            &["users", "password", "ben@press.example", "--password-stdin"],
            &format!("{USER_PASSWORD}\n"),
        );

        let list: Value =
            serde_json::from_str(&cli_ok(app, &["users", "list", "--format", "json"], "")).unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["email"], "Ada@press.example");
        assert_eq!(list[0]["role"], "admin");
        assert!(list[0]["disabled_at"].is_string());
        assert_eq!(list[1]["role"], "admin");
        assert_eq!(list[1]["has_password"], true);
        assert!(list[0].get("password_hash").is_none());
        let table = cli_ok(app, &["users", "list"], "");
        assert!(
            table.contains("disabled") && table.contains("2 user(s)"),
            "{table}"
        );

        assert_eq!(
            audit_lines(app),
            [
                line(
                    CLI_ACTOR,
                    "user.add",
                    "added user Ada@press.example as admin"
                ),
                line(
                    CLI_ACTOR,
                    "user.add",
                    "added user ben@press.example as editor"
                ),
                line(
                    CLI_ACTOR,
                    "user.role",
                    "changed the role of ben@press.example from editor to admin"
                ),
                line(CLI_ACTOR, "user.disable", "disabled user Ada@press.example"),
                line(
                    CLI_ACTOR,
                    "user.password",
                    "set the password of ben@press.example"
                ),
            ]
        );
        // Filters: by actor, and by date.
        let mine = cli_ok(app, &["audit", "--user", "CLI:PAT", "--format", "json"], "");
        assert_eq!(
            serde_json::from_str::<Value>(&mine)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            5
        );
        let theirs = cli_ok(
            app,
            &["audit", "--user", "ben@press.example", "--format", "json"],
            "",
        );
        assert_eq!(theirs.trim(), "[]");
        let later = cli_ok(
            app,
            &["audit", "--since", "2999-01-01", "--format", "json"],
            "",
        );
        assert_eq!(later.trim(), "[]");
        let e = cli_bad(app, &["audit", "--since", "yesterday"]);
        assert!(e.contains("use YYYY-MM-DD"), "{e}");
    });
}

#[test]
fn team_api_tokens_are_shown_once_kept_hashed_and_revoked() {
    each_backend(|app| {
        cli_ok(
            app,
            &["users", "add", "ada@press.example", "--role", "admin"],
            "",
        );
        let token = cli_ok(
            app,
            &["users", "token", "ada@press.example", "--name", "crm sync"],
            "",
        );
        let token = token.trim();
        assert!(token.starts_with("pw_") && token.len() == 67, "{token}");
        let stored = app.texts("SELECT token_hash FROM api_tokens");
        assert_ne!(stored[0][0].as_deref(), Some(token));
        assert!(!stored[0][0].clone().unwrap().contains(&token[3..]));
        let list = cli_ok(app, &["users", "tokens", "ada@press.example"], "");
        assert!(
            list.contains("crm sync") && list.contains("valid") && !list.contains(token),
            "{list}"
        );
        cli_ok(app, &["users", "revoke", "1"], "");
        let list: Value =
            serde_json::from_str(&cli_ok(app, &["users", "tokens", "--format", "json"], ""))
                .unwrap();
        assert!(list[0]["revoked_at"].is_string(), "{list}");
        let again = cli_ok(app, &["users", "revoke", "1"], "");
        assert!(again.contains("already revoked"), "{again}");
        let e = cli_bad(app, &["users", "revoke", "99"]);
        assert!(e.contains("no API token has the id 99"), "{e}");
        let e = cli_bad(app, &["users", "token", "nobody@press.example"]);
        assert!(
            e.contains("no user has the address nobody@press.example"),
            "{e}"
        );
        let lines = audit_lines(app);
        assert_eq!(
            lines[1],
            line(
                CLI_ACTOR,
                "token.create",
                "made API token 1 (crm sync) for ada@press.example"
            )
        );
        assert_eq!(
            lines[2],
            line(
                CLI_ACTOR,
                "token.revoke",
                "revoked API token 1 of ada@press.example"
            )
        );
        assert_eq!(lines.len(), 3);
    });
}

#[test]
fn team_contact_writes_from_the_cli_are_audited_and_a_refused_import_writes_nothing() {
    each_backend(|app| {
        app.write(
            "outlook.csv",
            "Email,Name\njane@news.example,Jane\njo@news.example,Jo\nbad@,B\n",
        );
        // Refused: nothing at all, not even an audit entry.
        let out = cli(app, &["contacts", "import", "outlook.csv"], "");
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
        assert_eq!(app.count("SELECT count(*) FROM audit_log"), 0);
        // A dry run writes nothing either.
        cli_ok(
            app,
            &[
                "contacts",
                "import",
                "outlook.csv",
                "--skip-invalid",
                "--dry-run",
            ],
            "",
        );
        assert_eq!(app.count("SELECT count(*) FROM audit_log"), 0);
        cli_ok(
            app,
            &["contacts", "import", "outlook.csv", "--skip-invalid"],
            "",
        );
        app.write("outlook.csv", "Email,Name\njane@news.example,Jane Doe\n");
        cli_ok(app, &["contacts", "import", "outlook.csv"], "");
        cli_ok(
            app,
            &[
                "suppress",
                "add",
                "jo@news.example",
                "--reason",
                "asked by phone",
            ],
            "",
        );
        cli_ok(app, &["suppress", "remove", "jo@news.example"], "");
        cli_ok(app, &["suppress", "remove", "jo@news.example"], "");
        // PostgreSQL's ids go on past rolled-back imports: ask for them.
        let ids: Vec<String> = app
            .texts("SELECT CAST(id AS TEXT) FROM imports ORDER BY id")
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        cli_ok(
            app,
            &["contacts", "import", "--undo", "outlook.csv", "--yes"],
            "",
        );
        cli_ok(app, &["contacts", "forget", "jo@news.example", "--yes"], "");
        let lines = audit_lines(app);
        assert_eq!(
            lines,
            [
                line(
                    CLI_ACTOR,
                    "contacts.import",
                    "imported outlook.csv: 2 new, 0 updated, 1 skipped"
                ),
                line(
                    CLI_ACTOR,
                    "contacts.import",
                    "imported outlook.csv: 0 new, 1 updated"
                ),
                // Forgetting took the address out of the earlier entries.
                line(
                    CLI_ACTOR,
                    "suppression.add",
                    "suppressed address (a forgotten address) (asked by phone)"
                ),
                line(
                    CLI_ACTOR,
                    "suppression.remove",
                    "lifted the suppression of address (a forgotten address)"
                ),
                line(
                    CLI_ACTOR,
                    "contacts.undo_import",
                    &format!(
                        "undid import {} of outlook.csv: removed 0, restored 1, kept 0",
                        ids[1]
                    ),
                ),
                line(
                    CLI_ACTOR,
                    "contact.forget",
                    "forgot a contact: 0 deliveries, 0 bounces and 0 suppressions erased"
                ),
            ]
        );
        let all = audit(app);
        assert_eq!(all[0]["object_kind"], "import");
        assert_eq!(all[0]["object_id"], ids[0].as_str());
        assert!(all[2]["object_id"].is_null());
        assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE lower(summary) LIKE '%jo@news%' OR object_id = 'jo@news.example'"), 0);
    });
}

// ---------------------------------------------------------------------------
// The API

/// One token per role, made by the CLI: (role, token).
fn tokens_per_role(app: &TestApp) -> Vec<(&'static str, String)> {
    ["viewer", "editor", "sender", "admin"]
        .into_iter()
        .map(|role| {
            let email = format!("{role}@press.example");
            cli_ok(app, &["users", "add", &email, "--role", role], "");
            (
                role,
                cli_ok(app, &["users", "token", &email], "")
                    .trim()
                    .to_string(),
            )
        })
        .collect()
}

fn bearer(req: RequestBuilder, token: &str) -> RequestBuilder {
    req.header("authorization", format!("Bearer {token}"))
}

/// Status and JSON body of a response.
fn answer(r: reqwest::blocking::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

const API_CONTACTS: &str = "Email,First Name,Last Name,Outlet,Beat,Country,Language,Tags\n\
    amara@signal.example,Amara,Okonkwo,Nairobi Signal,Environment,KE,en,climate\n\
    jonas@kurier.example,Jonas,Weber,Rhein-Kurier,Politics,DE,de,politics\n\
    lena@kurier.example,Lena,Vogel,Rhein-Kurier,Climate,DE,de-AT,climate;politics\n\
    thandi@cape.example,Thandiwe,Nkosi,Cape Broadcast,Radio,ZA,en,radio\n";

#[test]
fn team_api_answers_each_endpoint_for_the_roles_that_may_and_403_for_the_others() {
    each_backend(|app| {
        app.write("journalists.csv", API_CONTACTS);
        cli_ok(app, &["contacts", "import", "journalists.csv"], "");
        let tokens = tokens_per_role(app);
        let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
        let server = Server::start(app, "[serve]\nmax_upload_mb = 1\n");
        let http = client();
        let ctx = app.backend;

        // GET /api/v1/contacts: every role; filters, paging by cursor.
        for (role, t) in &tokens {
            let (status, body) = answer(
                bearer(http.get(server.url("/api/v1/contacts")), t)
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 200, "[{ctx}] {role}: {body}");
            assert_eq!(body["contacts"].as_array().unwrap().len(), 4);
            assert!(body["next"].is_null());
        }
        let get = |path: &str| {
            answer(
                bearer(http.get(server.url(path)), &token("viewer"))
                    .send()
                    .unwrap(),
            )
        };
        let emails = |body: &Value| -> Vec<String> {
            body["contacts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["email"].as_str().unwrap().to_string())
                .collect()
        };
        let (_, b) = get("/api/v1/contacts?tag=climate&country=DE");
        assert_eq!(emails(&b), ["lena@kurier.example"]);
        let (_, b) = get("/api/v1/contacts?require_tag=climate&require_tag=politics");
        assert_eq!(emails(&b), ["lena@kurier.example"]);
        let (_, b) = get("/api/v1/contacts?exclude_tag=climate&language=de");
        assert_eq!(emails(&b), ["jonas@kurier.example"]);
        let (_, b) = get("/api/v1/contacts?beat=environment");
        assert_eq!(emails(&b), ["amara@signal.example"]);
        let (_, b) = get("/api/v1/contacts?outlet=rhein-kurier&q=LEN");
        assert_eq!(emails(&b), ["lena@kurier.example"]);
        let (_, b) = get("/api/v1/contacts?q=nkosi");
        assert_eq!(emails(&b), ["thandi@cape.example"]);
        let (_, page1) = get("/api/v1/contacts?limit=3");
        assert_eq!(emails(&page1).len(), 3);
        let next = page1["next"].as_str().unwrap().to_string();
        let (_, page2) = get(&format!("/api/v1/contacts?limit=3&after={next}"));
        assert_eq!(emails(&page2), ["thandi@cape.example"]);
        assert!(page2["next"].is_null());
        let (status, b) = get("/api/v1/contacts?limit=0");
        assert_eq!(status, 400);
        assert_eq!(b["error"]["code"], "bad_request");
        let (status, b) = get("/api/v1/contacts?country=Atlantis");
        assert_eq!(status, 400, "{b}");
        let (status, _) = get("/api/v1/contacts?colour=red");
        assert_eq!(status, 400);

        // GET /api/v1/contacts/{email}: every role; 404 for no contact.
        let (status, b) = get("/api/v1/contacts/Lena@Kurier.example");
        assert_eq!(status, 200);
        assert_eq!(b["first_name"], "Lena");
        assert_eq!(b["tags"], json!(["climate", "politics"]));
        assert!(b["deliveries"].is_array() && b["bounces"].is_array());
        let (status, b) = get("/api/v1/contacts/nobody@kurier.example");
        assert_eq!(
            (status, b["error"]["code"].as_str()),
            (404, Some("not_found"))
        );

        // POST /api/v1/suppressions: sender and admin; 403 below.
        let suppress = |t: &str, body: Value| {
            answer(
                bearer(http.post(server.url("/api/v1/suppressions")), t)
                    .json(&body)
                    .send()
                    .unwrap(),
            )
        };
        for role in ["viewer", "editor"] {
            let (status, b) = suppress(&token(role), json!({"value": "amara@signal.example"}));
            assert_eq!(status, 403, "[{ctx}] {role}");
            assert_eq!(b["error"]["code"], "forbidden");
            assert!(
                b["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("needs the sender role"),
                "{b}"
            );
        }
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 0);
        let (status, b) = suppress(
            &token("sender"),
            json!({"value": "Amara@Signal.example", "reason": "asked by phone"}),
        );
        assert_eq!((status, &b["new"]), (201, &json!(true)), "{b}");
        let (status, _) = suppress(&token("admin"), json!({"value": "cape.example"}));
        assert_eq!(status, 201);
        let (status, b) = suppress(
            &token("admin"),
            json!({"value": "cape.example", "reason": "again"}),
        );
        assert_eq!((status, &b["new"]), (200, &json!(false)));
        let (status, b) = suppress(&token("sender"), json!({"address": "x@y.example"}));
        assert_eq!(status, 400, "{b}");
        let (status, b) = suppress(&token("sender"), json!({"value": "not an address@"}));
        assert_eq!(status, 400, "{b}");
        let (_, b) = get("/api/v1/contacts/amara@signal.example");
        assert_eq!(b["suppressed"], "asked by phone");

        // DELETE /api/v1/suppressions/{value}: sender and admin.
        let lift = |t: &str, value: &str| {
            answer(
                bearer(
                    http.delete(server.url(&format!("/api/v1/suppressions/{value}"))),
                    t,
                )
                .send()
                .unwrap(),
            )
        };
        assert_eq!(lift(&token("editor"), "cape.example").0, 403);
        assert_eq!(lift(&token("sender"), "cape.example").0, 200);
        let (status, b) = lift(&token("sender"), "cape.example");
        assert_eq!(
            (status, b["error"]["code"].as_str()),
            (404, Some("not_found"))
        );
        assert_eq!(
            lift(&token("sender"), "amara@signal.example?forgotten=true").0,
            403
        );
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 1);

        // GET /api/v1/audit: admin only.
        for role in ["viewer", "editor", "sender"] {
            let (status, _) = answer(
                bearer(http.get(server.url("/api/v1/audit")), &token(role))
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 403, "{role}");
        }
        let (status, b) = answer(
            bearer(
                http.get(server.url("/api/v1/audit?user=sender@press.example")),
                &token("admin"),
            )
            .send()
            .unwrap(),
        );
        assert_eq!(status, 200, "{b}");
        let summaries: Vec<&str> = b["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["summary"].as_str().unwrap())
            .collect();
        assert_eq!(
            summaries,
            [
                "lifted the suppression of domain cape.example",
                "suppressed address amara@signal.example (asked by phone)"
            ]
        );
        let (_, b) = answer(
            bearer(
                http.get(server.url("/api/v1/audit?limit=1")),
                &token("admin"),
            )
            .send()
            .unwrap(),
        );
        let next = b["next"].as_i64().unwrap();
        let (_, older) = answer(
            bearer(
                http.get(server.url(&format!("/api/v1/audit?limit=1&before={next}"))),
                &token("admin"),
            )
            .send()
            .unwrap(),
        );
        assert!(older["entries"][0]["id"].as_i64().unwrap() < next);
        let (_, b) = answer(
            bearer(
                http.get(server.url("/api/v1/audit?user=admin@press.example")),
                &token("admin"),
            )
            .send()
            .unwrap(),
        );
        assert_eq!(b["entries"][0]["actor"], "admin@press.example");
        assert_eq!(b["entries"][0]["action"], "suppression.add");

        // POST /api/v1/contacts/import: editor and above.
        let import = |t: &str, query: &str, body: &str| {
            answer(
                bearer(
                    http.post(server.url(&format!("/api/v1/contacts/import{query}"))),
                    t,
                )
                .header("content-type", "text/csv")
                .body(body.to_string())
                .send()
                .unwrap(),
            )
        };
        let csv = "Mail,Name,Desk\nnew@paper.example,New Person,Science\njonas@kurier.example,Jonas W.,Politics\nbroken@,Bad,\n";
        let (status, _) = import(
            &token("viewer"),
            "?filename=outlook.csv&map=Mail%3Demail",
            csv,
        );
        assert_eq!(status, 403);
        let before = app.count("SELECT count(*) FROM contacts");
        let audit_before = app.count("SELECT count(*) FROM audit_log");
        // Refused (an invalid row): 422 with the problems, nothing written.
        let (status, b) = import(
            &token("editor"),
            "?filename=outlook.csv&map=Mail%3Demail",
            csv,
        );
        assert_eq!(status, 422, "{b}");
        assert_eq!(b["error"]["code"], "invalid_rows");
        let problem = &b["error"]["problems"][0];
        assert_eq!(
            (
                problem["file"].as_str(),
                problem["line"].as_i64(),
                problem["column"].as_str()
            ),
            (Some("outlook.csv"), Some(4), Some("Mail"))
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), before);
        assert_eq!(app.count("SELECT count(*) FROM imports"), 1);
        assert_eq!(app.count("SELECT count(*) FROM audit_log"), audit_before);
        // A dry run: the report, nothing written.
        let (status, b) = import(
            &token("editor"),
            "?filename=outlook.csv&map=Mail%3Demail&skip_invalid=true&dry_run=true",
            csv,
        );
        assert_eq!(status, 200, "{b}");
        assert_eq!(
            (b["imported"].as_i64(), b["committed"].as_bool()),
            (Some(1), Some(false))
        );
        assert_eq!(app.count("SELECT count(*) FROM contacts"), before);
        // Skipping the invalid row: the report of `contacts import --format json`.
        let (status, b) = import(
            &token("editor"),
            "?filename=outlook.csv&map=Mail%3Demail&skip_invalid=true&tag=api",
            csv,
        );
        assert_eq!(status, 200, "{b}");
        assert_eq!(
            (
                b["imported"].as_i64(),
                b["updated"].as_i64(),
                b["skipped"].as_i64()
            ),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(b["files"][0]["file"], "outlook.csv");
        assert_eq!(b["committed"], true);
        let (_, c) = get("/api/v1/contacts/new@paper.example");
        assert_eq!(c["tags"], json!(["api"]));
        assert_eq!(c["source"], "outlook.csv");
        let (_, b) = answer(
            bearer(
                http.get(server.url("/api/v1/audit?limit=1")),
                &token("admin"),
            )
            .send()
            .unwrap(),
        );
        assert_eq!(b["entries"][0]["actor"], "editor@press.example");
        assert_eq!(
            b["entries"][0]["summary"],
            "imported outlook.csv: 1 new, 1 updated, 1 skipped"
        );
        // The CLI's undo finds it by its file name.
        let out = cli_ok(
            app,
            &["contacts", "import", "--undo", "outlook.csv", "--dry-run"],
            "",
        );
        assert!(out.contains("remove new@paper.example"), "{out}");
        // A header with no address column: 422, nothing written.
        let (status, b) = import(&token("editor"), "", "Name,Desk\nX,Y\n");
        assert_eq!(status, 422, "{b}");
        assert_eq!(b["error"]["code"], "invalid_file");
        let (status, _) = import(&token("editor"), "?map=nonsense", csv);
        assert_eq!(status, 400);
        // Over the limit ([serve] max_upload_mb = 1): 413, nothing written.
        let mut big = String::from("Email,Name\n");
        let mut i = 0;
        while big.len() <= 1_100_000 {
            big.push_str(&format!("j{i}@bulk.example,Journalist {i}\n"));
            i += 1;
        }
        let (status, b) = import(&token("admin"), "?filename=big.csv", &big);
        assert_eq!(status, 413, "{b}");
        assert_eq!(b["error"]["code"], "too_large");
        assert_eq!(
            app.count("SELECT count(*) FROM contacts WHERE email LIKE '%@bulk.example'"),
            0
        );

        // Unknown paths under the API answer in JSON.
        let (status, b) = get("/api/v1/releases");
        assert_eq!(
            (status, b["error"]["code"].as_str()),
            (404, Some("not_found"))
        );
        drop(server);
    });
}

#[test]
fn team_api_refuses_missing_forged_revoked_and_disabled_tokens_with_401() {
    each_backend(|app| {
        let tokens = tokens_per_role(app);
        let admin = tokens[3].1.clone();
        let viewer = tokens[0].1.clone();
        let server = Server::start(app, "");
        let http: Client = client();
        let status = |req: RequestBuilder| {
            let r = req.send().unwrap();
            let s = r.status().as_u16();
            let www = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = r.json().unwrap();
            (s, www, body["error"]["code"].as_str().map(str::to_string))
        };
        let url = server.url("/api/v1/contacts");
        let unauthorized = (
            401,
            Some("Bearer realm=\"presswire\"".to_string()),
            Some("unauthorized".to_string()),
        );
        assert_eq!(status(http.get(&url)), unauthorized);
        assert_eq!(
            status(
                http.get(&url)
                    .header("authorization", format!("Basic {admin}"))
            ),
            unauthorized
        );
        let forged = format!("pw_{}", "0".repeat(64));
        assert_eq!(status(bearer(http.get(&url), &forged)), unauthorized);
        let last = if admin.ends_with('0') { '1' } else { '0' };
        let altered = format!("{}{last}", &admin[..admin.len() - 1]);
        assert_eq!(status(bearer(http.get(&url), &altered)), unauthorized);
        assert_eq!(status(bearer(http.get(&url), "pw_short")), unauthorized);
        assert_eq!(status(bearer(http.get(&url), &admin)).0, 200);
        // Revoked by the CLI: 401 from then on, also for a write.
        cli_ok(app, &["users", "revoke", "4"], "");
        assert_eq!(status(bearer(http.get(&url), &admin)), unauthorized);
        let r = bearer(http.post(server.url("/api/v1/suppressions")), &admin)
            .json(&json!({"value": "x.example"}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 0);
        // A disabled user's token opens nothing.
        assert_eq!(status(bearer(http.get(&url), &viewer)).0, 200);
        cli_ok(app, &["users", "disable", "viewer@press.example"], "");
        assert_eq!(status(bearer(http.get(&url), &viewer)), unauthorized);
        // The token's last use is kept.
        assert_eq!(
            app.count("SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL"),
            2
        );
    });
}

// ---------------------------------------------------------------------------
// The dashboard's login

/// The login form's CSRF cookie and field.
fn login_form(server: &Server, http: &Client) -> (String, String, String) {
    let r = http.get(server.url("/dashboard/login")).send().unwrap();
    let (cookie, _) = set_cookie(&r, "presswire_csrf").unwrap();
    let page = r.text().unwrap();
    (cookie, csrf_of(&page), page)
}

/// Logs in with `fields` (and the form's CSRF token); status and session cookie.
fn login_with(server: &Server, http: &Client, fields: &[(&str, &str)]) -> (u16, Option<String>) {
    let (cookie, csrf, _) = login_form(server, http);
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", &csrf));
    let r = http
        .post(server.url("/dashboard/login"))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .unwrap();
    (
        r.status().as_u16(),
        set_cookie(&r, "presswire_session").map(|c| c.0),
    )
}

fn dashboard(server: &Server, http: &Client, session: &str) -> u16 {
    http.get(server.url("/dashboard/"))
        .header("cookie", session)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn team_users_log_in_by_address_and_the_single_password_stops_once_a_user_exists() {
    each_backend(|app| {
        // [serve] password_hash, no users: the one password logs in.
        let server = Server::start(app, &settings(""));
        let http = client();
        let (_, _, page) = login_form(&server, &http);
        assert!(!page.contains("name=\"email\""), "{page}");
        let (status, old_session) = login_with(&server, &http, &[("password", PASSWORD)]);
        assert_eq!(status, 303);
        let old_session = old_session.unwrap();
        assert_eq!(dashboard(&server, &http, &old_session), 200);

        // The first user: the single password and its sessions stop.
        cli_ok(
            app,
            &[
                "users",
                "add",
                "ada@press.example",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            &format!("{USER_PASSWORD}\n"),
        );
        assert_eq!(dashboard(&server, &http, &old_session), 303);
        assert_eq!(login_with(&server, &http, &[("password", PASSWORD)]).0, 401);
        let (_, _, page) = login_form(&server, &http);
        assert!(page.contains("name=\"email\""), "{page}");
        assert_eq!(
            login_with(
                &server,
                &http,
                &[("email", "ada@press.example"), ("password", PASSWORD)]
            )
            .0,
            401
        );
        assert_eq!(
            login_with(
                &server,
                &http,
                &[
                    ("email", "nobody@press.example"),
                    ("password", USER_PASSWORD)
                ]
            )
            .0,
            401
        );
        // Without the CSRF token: refused, whatever the password.
        let r = http
            .post(server.url("/dashboard/login"))
            .form(&[("email", "ada@press.example"), ("password", USER_PASSWORD)])
            .send()
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(set_cookie(&r, "presswire_session").is_none());
        // The user's address (in any case) and password.
        let (status, session) = login_with(
            &server,
            &http,
            &[("email", "ADA@press.example"), ("password", USER_PASSWORD)],
        );
        assert_eq!(status, 303);
        let session = session.unwrap();
        assert_eq!(dashboard(&server, &http, &session), 200);
        assert_eq!(
            app.count("SELECT count(*) FROM users WHERE last_login_at IS NOT NULL"),
            1
        );
        assert_eq!(
            app.count("SELECT count(*) FROM dashboard_sessions WHERE user_id IS NOT NULL"),
            1
        );
        // A new password ends the session; so does disabling the user.
        cli_ok(
            app,
            &["users", "password", "ada@press.example", "--password-stdin"],
            "another long password\n",
        );
        assert_eq!(dashboard(&server, &http, &session), 303);
        let (_, session) = login_with(
            &server,
            &http,
            &[
                ("email", "ada@press.example"),
                ("password", "another long password"),
            ],
        );
        let session = session.unwrap();
        assert_eq!(dashboard(&server, &http, &session), 200);
        cli_ok(
            app,
            &["users", "add", "root@press.example", "--role", "admin"],
            "",
        );
        cli_ok(app, &["users", "disable", "ada@press.example"], "");
        assert_eq!(dashboard(&server, &http, &session), 303);
        assert_eq!(
            login_with(
                &server,
                &http,
                &[
                    ("email", "ada@press.example"),
                    ("password", "another long password")
                ]
            )
            .0,
            401
        );
        drop(server);
    });
}
