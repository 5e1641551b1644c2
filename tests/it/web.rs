//! `presswire serve`: the real binary on a free loopback port, against the
//! test's database, spoken to over HTTP. One-click unsubscribe (and forged
//! tokens), every bounce webhook (good and bad signatures, replays,
//! malformed bodies, repeats), the dashboard's login (CSRF, cookies, rate
//! limit) and pages, the security headers; and an end-to-end run in
//! headless Chromium driven over WebDriver (chromedriver).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{each_backend, free_port, TestApp};
use crate::known_send::known_send;

// ---------------------------------------------------------------------------
// Helpers

/// Four journalists (as in the sending tests).
const CONTACTS: &str = "Email,First Name,Last Name,Outlet,Beat,Language,Tags\n\
    amara.okonkwo@nairobisignal.example,Amara,Okonkwo,Nairobi Daily Signal,Environment,en,climate\n\
    jonas.weber@rheinkurier.example,Jonas,Weber,Rhein-Kurier,,de,politics\n\
    thandiwe@capebroadcast.example,Thandiwe,Nkosi,Cape Broadcast Service,,en,radio\n\
    desk@harbourpost.example,,,Harbour Post,,,gone\n";

pub(crate) const PASSWORD: &str = "correct horse battery staple";
const GENERIC_SECRET: &str = "generic-webhook-secret-0123456789";
const MAILGUN_KEY: &str = "key-mailgun-signing-0123456789";
const POSTMARK_PASSWORD: &str = "postmark-password-0123456789";

/// `presswire serve` on a free port; stopped when dropped.
pub(crate) struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    /// Writes presswire.toml (`[send] unsubscribe_url` pointing at the
    /// server, then `extra`) and starts the server.
    pub(crate) fn start(app: &TestApp, extra: &str) -> Server {
        let port = free_port();
        Server::start_on(app, port, extra)
    }

    fn start_on(app: &TestApp, port: u16, extra: &str) -> Server {
        app.write(
            "presswire.toml",
            format!("[send]\nunsubscribe_url = \"http://127.0.0.1:{port}\"\n\n{extra}"),
        );
        let log = app.path().join(format!("serve-{port}.log"));
        let child = app
            .command()
            .args(["--config", "presswire.toml", "-v", "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut server = Server { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "[{}] serve exited ({status}):\n{}",
                    app.backend,
                    server.log_text()
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("serve did not start:\n{}", server.log_text());
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn text(r: Response) -> (StatusCode, String) {
    let status = r.status();
    (status, r.text().unwrap())
}

/// A `[serve]` table with the dashboard password and the webhooks' secrets.
pub(crate) fn settings(extra: &str) -> String {
    let hash = presswire::web::auth::hash_password(PASSWORD).unwrap();
    format!(
        "[serve]\npassword_hash = \"{hash}\"\n{extra}\n\
         [webhooks.generic]\nsecret = \"{GENERIC_SECRET}\"\n\
         [webhooks.mailgun]\nsigning_key = \"{MAILGUN_KEY}\"\n\
         [webhooks.postmark]\nusername = \"postmark\"\npassword = \"{POSTMARK_PASSWORD}\"\n"
    )
}

/// Imports the contacts and sends the example release into the outbox
/// (whose messages carry the unsubscribe URL of presswire.toml); returns
/// the send's id.
fn send_example(app: &TestApp) -> i64 {
    send_to(app, CONTACTS, &[])
}

/// Imports `csv` and sends the example release into the outbox to the
/// audience of `audience` (e.g. `["--tag", "press"]`); returns the send's id.
fn send_to(app: &TestApp, csv: &str, audience: &[&str]) -> i64 {
    app.write("contacts.csv", csv);
    app.ok(["contacts", "import", "contacts.csv"]);
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join("releases/example.md");
    let mut args = vec![
        "--config",
        "presswire.toml",
        "send",
        release.to_str().unwrap(),
        "--yes",
        "--rate",
        "unlimited",
    ];
    args.extend(audience);
    app.ok(args);
    app.count("SELECT max(id) FROM sends")
}

/// The https/http URL of the List-Unsubscribe header of the outbox message to `email`.
fn unsubscribe_url(app: &TestApp, send: i64, email: &str) -> String {
    let folder = app.path().join("outbox").join(send.to_string());
    for entry in std::fs::read_dir(&folder).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let to = msg
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or("");
        if to != email {
            continue;
        }
        let header = msg
            .header_raw("List-Unsubscribe")
            .unwrap()
            .replace(['\r', '\n'], "");
        return header
            .split(['<', '>'])
            .find(|p| p.starts_with("http"))
            .unwrap_or_else(|| panic!("no http URL in List-Unsubscribe: {header}"))
            .to_string();
    }
    panic!("no message to {email} in {}", folder.display());
}

fn contact_status(app: &TestApp, email: &str) -> String {
    app.texts(&format!(
        "SELECT status FROM contacts WHERE email_key = '{email}'"
    ))[0][0]
        .clone()
        .unwrap()
}

fn suppression(app: &TestApp, email: &str) -> Option<(String, Option<String>)> {
    let rows = app.texts(&format!(
        "SELECT reason, CAST(send_id AS TEXT) FROM suppressions WHERE kind = 'address' AND value = '{email}'"
    ));
    rows.first().map(|r| (r[0].clone().unwrap(), r[1].clone()))
}

fn assert_security_headers(r: &Response) {
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
}

// ---------------------------------------------------------------------------
// One-click unsubscribe

#[test]
fn web_one_click_unsubscribe_suppresses_once_and_forged_tokens_change_nothing() {
    each_backend(|app| {
        let server = Server::start(app, "");
        let send = send_example(app);
        let amara = "amara.okonkwo@nairobisignal.example";
        let url = unsubscribe_url(app, send, amara);
        assert!(url.starts_with(&server.url("/u/u")), "{url}");
        let http = client();

        // GET shows a page with a button and changes nothing.
        let r = http.get(&url).send().unwrap();
        assert_security_headers(&r);
        let (status, page) = text(r);
        assert_eq!(status, 200);
        assert!(
            page.contains("<form method=\"post\">") && page.contains("Unsubscribe"),
            "{page}"
        );
        assert_eq!(contact_status(app, amara), "active");

        // Forged and altered tokens: 400, nothing written.
        let token = url.rsplit('/').next().unwrap().to_string();
        let (ids, sig) = token.rsplit_once('.').unwrap();
        let jonas_id = app
            .count("SELECT id FROM contacts WHERE email_key = 'jonas.weber@rheinkurier.example'");
        let other_contact = format!("u{jonas_id}.{send}.{sig}");
        let flipped = format!(
            "{ids}.{}",
            if sig.starts_with('0') {
                sig.replacen('0', "1", 1)
            } else {
                format!("0{}", &sig[1..])
            }
        );
        for bad in [
            other_contact.as_str(),
            flipped.as_str(),
            "u1.1",
            "nonsense",
            "u1.1.zz",
        ] {
            for post in [false, true] {
                let target = server.url(&format!("/u/{bad}"));
                let r = if post {
                    http.post(&target)
                        .body("List-Unsubscribe=One-Click")
                        .send()
                        .unwrap()
                } else {
                    http.get(&target).send().unwrap()
                };
                let (status, page) = text(r);
                assert_eq!(status, 400, "[{}] {bad}: {page}", app.backend);
                assert!(page.contains("not valid"), "{page}");
            }
        }
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 0);
        assert_eq!(
            app.count("SELECT count(*) FROM contacts WHERE status <> 'active'"),
            0
        );

        // RFC 8058 one-click POST.
        let r = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .unwrap();
        let (status, page) = text(r);
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("You are unsubscribed"), "{page}");
        assert_eq!(contact_status(app, amara), "unsubscribed");
        assert_eq!(
            suppression(app, amara),
            Some(("unsubscribed".to_string(), Some(send.to_string())))
        );

        // Again (a second click, a retrying mail client): the same answer, one row.
        let (status, page) = text(
            http.post(&url)
                .body("List-Unsubscribe=One-Click")
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200);
        assert!(page.contains("already off our list"), "{page}");
        assert_eq!(app.count("SELECT count(*) FROM suppressions"), 1);
        assert_eq!(
            app.count("SELECT count(*) FROM contacts WHERE status <> 'active'"),
            1
        );

        // The next send skips the contact.
        let again = send_example(app);
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM deliveries WHERE send_id = {again} AND email = '{amara}' AND state <> 'skipped'"
            )),
            0
        );
    });
}

// ---------------------------------------------------------------------------
// Webhooks

fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(presswire::bounce::webhook::hmac_sha256(key, parts))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn web_generic_webhook_takes_a_bearer_secret_or_a_signature_and_refuses_the_rest() {
    each_backend(|app| {
        let server = Server::start(app, &settings(""));
        let send = send_example(app);
        let http = client();
        let hook = server.url("/webhooks/generic");
        let amara = "amara.okonkwo@nairobisignal.example";
        let body = json!({"events": [{
            "id": "evt-1", "type": "bounce", "email": amara, "permanent": true,
            "status": "5.1.1", "diagnostic": "550 5.1.1 <amara.okonkwo@nairobisignal.example>: user unknown"
        }]})
        .to_string();

        // No credentials, a wrong secret, a wrong signature: 401, nothing written.
        let r = http.post(&hook).body(body.clone()).send().unwrap();
        assert_eq!(r.status(), 401);
        let r = http
            .post(&hook)
            .bearer_auth("wrong-secret")
            .body(body.clone())
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
        let t = now_secs();
        let bad = hmac_hex(
            b"another key",
            &[t.to_string().as_bytes(), b".", body.as_bytes()],
        );
        let r = http
            .post(&hook)
            .header("x-presswire-signature", format!("t={t},v1={bad}"))
            .body(body.clone())
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
        // A correct signature over an old timestamp: a replay.
        let old = t - 3600;
        let sig = hmac_hex(
            GENERIC_SECRET.as_bytes(),
            &[old.to_string().as_bytes(), b".", body.as_bytes()],
        );
        let (status, answer) = text(
            http.post(&hook)
                .header("x-presswire-signature", format!("t={old},v1={sig}"))
                .body(body.clone())
                .send()
                .unwrap(),
        );
        assert_eq!(status, 401, "{answer}");
        assert!(answer.contains("replay"), "{answer}");
        // Malformed bodies with good credentials: 400.
        for malformed in [
            "{not json".to_string(),
            json!({"events": [{"id": "x", "type": "bounce"}]}).to_string(),
            json!({"events": [{"id": "x", "type": "opened", "email": amara}]}).to_string(),
            json!({"events": [{"id": "x", "type": "bounce", "email": "nobody"}]}).to_string(),
            json!({"evts": []}).to_string(),
        ] {
            let (status, answer) = text(
                http.post(&hook)
                    .bearer_auth(GENERIC_SECRET)
                    .body(malformed.clone())
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 400, "{malformed}: {answer}");
        }
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 0);
        assert_eq!(contact_status(app, amara), "active");

        // Bearer: recorded, matched to the delivery, policy applied.
        let (status, answer) = text(
            http.post(&hook)
                .bearer_auth(GENERIC_SECRET)
                .body(body.clone())
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{answer}");
        let report: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(report["recorded"], 1, "{answer}");
        assert_eq!(report["matched"], 1, "{answer}");
        assert_eq!(report["suppressed"], 1, "{answer}");
        assert_eq!(contact_status(app, amara), "bounced");
        assert_eq!(suppression(app, amara).unwrap().0, "bounced");
        let rows = app.texts("SELECT kind, reason, source, matched_by FROM bounces");
        assert_eq!(
            rows[0],
            ["hard", "userunknown", "webhook", "recipient"].map(|s| Some(s.to_string()))
        );
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM deliveries WHERE send_id = {send} AND state = 'bounced'"
            )),
            1
        );
        // The same event again (signed this time): acknowledged, not recorded twice.
        let t = now_secs();
        let sig = hmac_hex(
            GENERIC_SECRET.as_bytes(),
            &[t.to_string().as_bytes(), b".", body.as_bytes()],
        );
        let (status, answer) = text(
            http.post(&hook)
                .header("x-presswire-signature", format!("t={t},v1={sig}"))
                .body(body.clone())
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains("\"duplicates\":1"), "{answer}");
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 1);

        // A complaint for another contact, by our Message-ID.
        let jonas = "jonas.weber@rheinkurier.example";
        let mid = app.texts(&format!(
            "SELECT message_id FROM deliveries WHERE email = '{jonas}'"
        ))[0][0]
            .clone()
            .unwrap();
        let body = json!({"events": [{"id": "evt-2", "type": "complaint", "email": jonas,
            "message_id": format!("<{mid}>"), "timestamp": "2026-01-01T00:00:00Z"}]})
        .to_string();
        let (status, answer) = text(
            http.post(&hook)
                .bearer_auth(GENERIC_SECRET)
                .body(body)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{answer}");
        assert_eq!(contact_status(app, jonas), "complained");
        assert_eq!(
            app.texts("SELECT matched_by FROM bounces WHERE kind = 'complaint'")[0][0].as_deref(),
            Some("message-id")
        );

        // A webhook that is not configured.
        assert_eq!(
            http.post(server.url("/webhooks/sendgrid"))
                .body("[]")
                .send()
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            http.post(server.url("/webhooks/other"))
                .body("[]")
                .send()
                .unwrap()
                .status(),
            404
        );
        // Secrets are not in the log.
        let log = server.log_text();
        assert!(
            !log.contains(GENERIC_SECRET) && !log.contains("wrong-secret"),
            "{log}"
        );
    });
}

/// A self-signed RSA certificate (the test's stand-in for AWS's) and its key.
fn test_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (key, cert) = (dir.join("sns-key.pem"), dir.join("sns-cert.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=sns.amazonaws.com",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed");
    assert!(status.success());
    (key, cert)
}

/// Signs `text` with openssl (`sha1` or `sha256`); base64.
fn openssl_sign(dir: &Path, key: &Path, digest: &str, text: &str) -> String {
    let input = dir.join("to-sign.txt");
    std::fs::write(&input, text).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", &format!("-{digest}"), "-sign"])
        .arg(key)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    base64::engine::general_purpose::STANDARD.encode(out.stdout)
}

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:presswire-bounces";
const CERT_URL: &str = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem";

/// An SNS message of `kind` carrying `message`, signed with `key` (version 1 or 2).
fn sns(
    dir: &Path,
    key: &Path,
    version: u8,
    kind: &str,
    id: &str,
    message: &str,
    timestamp: &str,
) -> Value {
    let mut m = json!({
        "Type": kind, "MessageId": id, "TopicArn": TOPIC, "Message": message,
        "Timestamp": timestamp, "SignatureVersion": version.to_string(), "SigningCertURL": CERT_URL,
    });
    let text = if kind == "Notification" {
        format!("Message\n{message}\nMessageId\n{id}\nTimestamp\n{timestamp}\nTopicArn\n{TOPIC}\nType\n{kind}\n")
    } else {
        let url = format!("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok");
        m["SubscribeURL"] = json!(url);
        m["Token"] = json!("tok");
        format!(
            "Message\n{message}\nMessageId\n{id}\nSubscribeURL\n{url}\nTimestamp\n{timestamp}\nToken\ntok\nTopicArn\n{TOPIC}\nType\n{kind}\n"
        )
    };
    let digest = if version == 1 { "sha1" } else { "sha256" };
    m["Signature"] = json!(openssl_sign(dir, key, digest, &text));
    m
}

fn iso_now(offset_secs: i64) -> String {
    chrono::DateTime::from_timestamp(now_secs() + offset_secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn web_ses_webhook_checks_sns_signatures_v1_and_v2_the_certificate_url_and_replays() {
    each_backend(|app| {
        let (key, cert) = test_certificate(app.path());
        let server = Server::start(
            app,
            &format!(
                "[webhooks.ses]\ntopic_arns = [\"{TOPIC}\"]\ncertificate = \"{}\"\n",
                cert.display()
            ),
        );
        send_example(app);
        let http = client();
        let hook = server.url("/webhooks/ses");
        let dir = app.path();
        let thandiwe = "thandiwe@capebroadcast.example";
        let bounce = json!({
            "notificationType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "feedbackId": "fb-1",
                "timestamp": iso_now(0),
                "bouncedRecipients": [{"emailAddress": thandiwe, "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 The email account that you tried to reach does not exist"}]},
            "mail": {"source": "press@clearwater-rights.example", "destination": [thandiwe]}
        })
        .to_string();

        // Subscription confirmation: verified, its URL logged, not fetched.
        let sub = sns(
            dir,
            &key,
            1,
            "SubscriptionConfirmation",
            "m-0",
            "You have chosen to subscribe",
            &iso_now(0),
        );
        let (status, answer) = text(http.post(&hook).body(sub.to_string()).send().unwrap());
        assert_eq!(status, 200, "{answer}");
        assert!(
            server.log_text().contains("Action=ConfirmSubscription"),
            "{}",
            server.log_text()
        );

        // A bad signature, an altered message, a foreign certificate URL,
        // another topic, an unknown signature version: 401.
        let good = sns(dir, &key, 1, "Notification", "m-1", &bounce, &iso_now(0));
        let mut altered = good.clone();
        altered["Message"] = json!(bounce.replace("thandiwe@", "someone@"));
        let mut bad_sig = good.clone();
        bad_sig["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode([7u8; 256]));
        let mut foreign = good.clone();
        foreign["SigningCertURL"] =
            json!("https://sns.eu-west-1.amazonaws.com.attacker.example/cert.pem");
        let mut plain = good.clone();
        plain["SigningCertURL"] = json!("http://sns.eu-west-1.amazonaws.com/cert.pem");
        let mut version = good.clone();
        version["SignatureVersion"] = json!("3");
        for (what, m) in [
            ("altered", altered),
            ("signature", bad_sig),
            ("foreign", foreign),
            ("http", plain),
            ("version", version),
        ] {
            let (status, answer) = text(http.post(&hook).body(m.to_string()).send().unwrap());
            assert_eq!(status, 401, "{what}: {answer}");
        }
        // Signed, but by a topic that is not ours.
        let other = {
            let mut m = good.clone();
            m["TopicArn"] = json!("arn:aws:sns:eu-west-1:999999999999:other");
            let text = format!(
                "Message\n{bounce}\nMessageId\nm-1\nTimestamp\n{}\nTopicArn\narn:aws:sns:eu-west-1:999999999999:other\nType\nNotification\n",
                m["Timestamp"].as_str().unwrap()
            );
            m["Signature"] = json!(openssl_sign(dir, &key, "sha1", &text));
            m
        };
        assert_eq!(
            http.post(&hook)
                .body(other.to_string())
                .send()
                .unwrap()
                .status(),
            401
        );
        // Signed two hours ago: a replay.
        let stale = sns(
            dir,
            &key,
            2,
            "Notification",
            "m-9",
            &bounce,
            &iso_now(-7200),
        );
        let (status, answer) = text(http.post(&hook).body(stale.to_string()).send().unwrap());
        assert_eq!(status, 401, "{answer}");
        // Not JSON at all.
        assert_eq!(http.post(&hook).body("{").send().unwrap().status(), 400);
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 0);

        // Version 1 (SHA1withRSA): recorded, hard bounce, suppressed.
        let (status, answer) = text(http.post(&hook).body(good.to_string()).send().unwrap());
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains("\"recorded\":1"), "{answer}");
        assert_eq!(contact_status(app, thandiwe), "bounced");
        // The same SES event through another SNS delivery, version 2
        // (SHA256withRSA): the feedback id makes it a duplicate.
        let v2 = sns(dir, &key, 2, "Notification", "m-2", &bounce, &iso_now(0));
        let (status, answer) = text(http.post(&hook).body(v2.to_string()).send().unwrap());
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains("\"duplicates\":1"), "{answer}");
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 1);

        // A complaint, version 2.
        let desk = "desk@harbourpost.example";
        let complaint = json!({"notificationType": "Complaint",
            "complaint": {"feedbackId": "fb-2", "complainedRecipients": [{"emailAddress": desk}]},
            "mail": {}})
        .to_string();
        let m = sns(dir, &key, 2, "Notification", "m-3", &complaint, &iso_now(0));
        let (status, answer) = text(http.post(&hook).body(m.to_string()).send().unwrap());
        assert_eq!(status, 200, "{answer}");
        assert_eq!(contact_status(app, desk), "complained");
    });
}

/// The base64 DER SubjectPublicKeyInfo of a P-256 public key (its point).
fn p256_spki(point: &[u8]) -> String {
    let mut der = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    der.extend_from_slice(point);
    base64::engine::general_purpose::STANDARD.encode(der)
}

#[test]
fn web_sendgrid_webhook_checks_the_ecdsa_signature_and_its_timestamp() {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    each_backend(|app| {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let server = Server::start(
            app,
            &format!(
                "[webhooks.sendgrid]\npublic_key = \"{}\"\n",
                p256_spki(key.public_key().as_ref())
            ),
        );
        send_example(app);
        let http = client();
        let hook = server.url("/webhooks/sendgrid");
        let jonas = "jonas.weber@rheinkurier.example";
        let body = json!([
            {"email": jonas, "event": "bounce", "type": "bounce", "sg_event_id": "sg-1",
             "status": "5.1.1", "reason": "550 5.1.1 The email account does not exist", "timestamp": now_secs()},
            {"email": jonas, "event": "delivered", "sg_event_id": "sg-0", "timestamp": now_secs()}
        ])
        .to_string();
        let sign = |ts: i64, body: &str| {
            let mut signed = ts.to_string().into_bytes();
            signed.extend_from_slice(body.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(key.sign(&rng, &signed).unwrap())
        };
        let post = |ts: i64, sig: &str, body: &str| {
            text(
                http.post(&hook)
                    .header("X-Twilio-Email-Event-Webhook-Signature", sig)
                    .header("X-Twilio-Email-Event-Webhook-Timestamp", ts.to_string())
                    .body(body.to_string())
                    .send()
                    .unwrap(),
            )
        };
        let t = now_secs();
        // Unsigned; signed over another body; another timestamp; old: 401.
        assert_eq!(
            http.post(&hook).body(body.clone()).send().unwrap().status(),
            401
        );
        assert_eq!(post(t, &sign(t, "[]"), &body).0, 401);
        assert_eq!(post(t + 1, &sign(t, &body), &body).0, 401);
        let (status, answer) = post(t - 600, &sign(t - 600, &body), &body);
        assert_eq!(status, 401, "{answer}");
        // Signed but malformed: 400.
        assert_eq!(post(t, &sign(t, "{\"a\":1}"), "{\"a\":1}").0, 400);
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 0);
        // Good: one recorded, one ignored; then a repeat is a duplicate.
        let (status, answer) = post(t, &sign(t, &body), &body);
        assert_eq!(status, 200, "{answer}");
        assert!(
            answer.contains("\"recorded\":1") && answer.contains("\"ignored\":1"),
            "{answer}"
        );
        assert_eq!(contact_status(app, jonas), "bounced");
        let (status, answer) = post(t, &sign(t, &body), &body);
        assert_eq!(status, 200);
        assert!(answer.contains("\"duplicates\":1"), "{answer}");
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 1);
    });
}

#[test]
fn web_postmark_webhook_needs_its_credentials() {
    each_backend(|app| {
        let server = Server::start(app, &settings(""));
        send_example(app);
        let http = client();
        let hook = server.url("/webhooks/postmark");
        let desk = "desk@harbourpost.example";
        let body = json!({"RecordType": "Bounce", "ID": 4323372036854775807u64, "Type": "HardBounce",
            "TypeCode": 1, "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": desk, "BouncedAt": iso_now(0)})
        .to_string();
        assert_eq!(
            http.post(&hook).body(body.clone()).send().unwrap().status(),
            401
        );
        let r = http
            .post(&hook)
            .basic_auth("postmark", Some("wrong"))
            .body(body.clone())
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
        let r = http
            .post(&hook)
            .basic_auth("postmark", Some(POSTMARK_PASSWORD))
            .body("{\"Type\":1}")
            .send()
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 0);
        let (status, answer) = text(
            http.post(&hook)
                .basic_auth("postmark", Some(POSTMARK_PASSWORD))
                .body(body.clone())
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{answer}");
        assert_eq!(contact_status(app, desk), "bounced");
        let (status, answer) = text(
            http.post(&hook)
                .basic_auth("postmark", Some(POSTMARK_PASSWORD))
                .body(body)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200);
        assert!(answer.contains("\"duplicates\":1"), "{answer}");
        let spam = json!({"RecordType": "SpamComplaint", "ID": 77, "Type": "SpamComplaint",
            "Email": "amara.okonkwo@nairobisignal.example"})
        .to_string();
        let (status, _) = text(
            http.post(&hook)
                .basic_auth("postmark", Some(POSTMARK_PASSWORD))
                .body(spam)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200);
        assert_eq!(
            contact_status(app, "amara.okonkwo@nairobisignal.example"),
            "complained"
        );
    });
}

#[test]
fn web_mailgun_webhook_checks_the_hmac_and_its_timestamp() {
    each_backend(|app| {
        let server = Server::start(app, &settings(""));
        send_example(app);
        let http = client();
        let hook = server.url("/webhooks/mailgun");
        let amara = "amara.okonkwo@nairobisignal.example";
        let body = |key: &str, ts: i64, id: &str| {
            let token = format!("token-{id}-{ts}");
            json!({
                "signature": {"timestamp": ts.to_string(), "token": token,
                    "signature": hmac_hex(key.as_bytes(), &[ts.to_string().as_bytes(), token.as_bytes()])},
                "event-data": {"id": id, "event": "failed", "severity": "temporary", "recipient": amara,
                    "reason": "generic", "timestamp": ts as f64,
                    "delivery-status": {"code": 452, "message": "4.2.2 The email account that you tried to reach is over quota"}}
            })
            .to_string()
        };
        let t = now_secs();
        assert_eq!(
            http.post(&hook)
                .body(body("wrong key", t, "a"))
                .send()
                .unwrap()
                .status(),
            401
        );
        let (status, answer) = text(
            http.post(&hook)
                .body(body(MAILGUN_KEY, t - 900, "a"))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 401, "{answer}");
        assert_eq!(
            http.post(&hook)
                .body("{\"signature\":1}")
                .send()
                .unwrap()
                .status(),
            400
        );
        assert_eq!(app.count("SELECT count(*) FROM bounces"), 0);
        let (status, answer) = text(
            http.post(&hook)
                .body(body(MAILGUN_KEY, t, "a"))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{answer}");
        // A soft bounce: counted, not suppressed.
        assert_eq!(
            app.texts("SELECT kind, reason FROM bounces")[0],
            [Some("soft".to_string()), Some("mailboxfull".to_string())]
        );
        assert_eq!(contact_status(app, amara), "active");
        // The same event id with a fresh signature: a duplicate.
        let (status, answer) = text(
            http.post(&hook)
                .body(body(MAILGUN_KEY, t + 1, "a"))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200);
        assert!(answer.contains("\"duplicates\":1"), "{answer}");
    });
}

// ---------------------------------------------------------------------------
// Under load: many writers at once while a send runs

/// `n` contacts `reader{i}@news{i % 5}.example` tagged `tag`, and `bulk`
/// contacts tagged `bulk` on seven other domains, as one CSV.
fn readers_and_bulk(n: usize, bulk: usize) -> String {
    let mut csv = String::from("Email,First Name,Tags\n");
    for i in 0..n {
        csv.push_str(&format!(
            "reader{i}@news{}.example,Reader{i},press\n",
            i % 5
        ));
    }
    for i in 0..bulk {
        csv.push_str(&format!("bulk{i}@bulk{}.example,Bulk{i},bulk\n", i % 7));
    }
    csv
}

/// A send to the `bulk` contacts through smtp-sink at 300 messages a
/// second, in a process of its own, until the test kills it; returned once
/// its first messages have arrived (it is then writing to the database).
fn running_send(app: &TestApp, sink: &crate::harness::SmtpSink) -> Child {
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join("releases/example.md");
    let log = std::fs::File::create(app.path().join("bulk-send.log")).unwrap();
    let mut child = app
        .command()
        .args(["--config", "presswire.toml", "send"])
        .arg(release)
        .args(["--tag", "bulk", "--yes", "--rate", "300/s", "--smtp"])
        .arg(sink.url())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while sink.files() < 5 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "[{}] the bulk send exited ({status}) before it sent:\n{}",
                app.backend,
                std::fs::read_to_string(app.path().join("bulk-send.log")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the bulk send never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Regression: two one-click unsubscribes at the same moment on SQLite
/// got "database is locked" (HTTP 500) and one was lost; 200 at once
/// during a send lost about half; webhooks the same. Every request is
/// answered once; the test stops when the last answer is in.
#[test]
fn web_concurrent_unsubscribes_and_webhooks_during_a_send_are_all_recorded() {
    const UNSUBSCRIBES: usize = 200;
    const EVENTS: usize = 50;
    each_backend(|app| {
        let server = Server::start(app, &settings(""));
        // The readers' send, into the outbox: the deliveries the
        // unsubscribe links and the bounces name.
        let first = send_to(
            app,
            &readers_and_bulk(UNSUBSCRIBES + EVENTS, 3000),
            &["--tag", "press"],
        );
        let signer = {
            let url = app.db_url.clone();
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let db = presswire::db::Db::open(&url).await.unwrap();
                    let s = presswire::send::tokens::Signer::load(&db).await.unwrap();
                    db.close().await;
                    s
                })
        };
        let ids: Vec<(String, i64)> = app
            .texts("SELECT email, CAST(id AS TEXT) FROM contacts WHERE email LIKE 'reader%' ORDER BY id")
            .into_iter()
            .map(|r| (r[0].clone().unwrap(), r[1].as_deref().unwrap().parse().unwrap()))
            .collect();
        assert_eq!(ids.len(), UNSUBSCRIBES + EVENTS);

        let sink = crate::harness::SmtpSink::start(&[]);
        let mut bulk = running_send(app, &sink);

        // Every request at once, each answered (a client timeout far
        // beyond any wait the server may impose).
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let mut requests = Vec::new();
        for (i, (email, id)) in ids.iter().enumerate() {
            let req = if i < UNSUBSCRIBES {
                let token = signer.unsubscribe_token(*id, first);
                http.post(server.url(&format!("/u/{token}")))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("List-Unsubscribe=One-Click")
            } else {
                let body = json!({"events": [{
                    "id": format!("evt-load-{i}"), "type": "bounce", "email": email,
                    "permanent": true, "status": "5.1.1",
                    "diagnostic": format!("550 5.1.1 <{email}>: user unknown")
                }]});
                http.post(server.url("/webhooks/generic"))
                    .bearer_auth(GENERIC_SECRET)
                    .json(&body)
            };
            requests.push((email.clone(), req));
        }
        let answers: Vec<(String, Result<u16, String>)> =
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(futures_util::future::join_all(requests.into_iter().map(
                    |(email, req)| async move {
                        let status = req.send().await.map(|r| r.status().as_u16());
                        (email, status.map_err(|e| e.to_string()))
                    },
                )));
        let still_sending = bulk.try_wait().unwrap().is_none();
        let _ = bulk.kill();
        let _ = bulk.wait();
        let refused: Vec<_> = answers.iter().filter(|(_, s)| *s != Ok(200)).collect();
        assert!(
            refused.is_empty(),
            "[{}] {} of {} requests not answered 200 (the bulk send was {}running at the end): {:?}\n{}",
            app.backend,
            refused.len(),
            answers.len(),
            if still_sending { "" } else { "no longer " },
            &refused[..refused.len().min(10)],
            server.log_text()
        );
        // Every one is in the database.
        assert_eq!(
            app.count(
                "SELECT count(*) FROM suppressions WHERE reason = 'unsubscribed' AND value LIKE 'reader%'"
            ),
            UNSUBSCRIBES as i64,
            "[{}]",
            app.backend
        );
        assert_eq!(
            app.count("SELECT count(*) FROM contacts WHERE status = 'unsubscribed'"),
            UNSUBSCRIBES as i64,
            "[{}]",
            app.backend
        );
        assert_eq!(
            app.count(
                "SELECT count(*) FROM bounces WHERE source = 'webhook' AND kind = 'hard' AND delivery_id IS NOT NULL"
            ),
            EVENTS as i64,
            "[{}]",
            app.backend
        );
        assert_eq!(
            app.count("SELECT count(*) FROM contacts WHERE status = 'bounced'"),
            EVENTS as i64,
            "[{}]",
            app.backend
        );
        assert!(
            !server.log_text().contains("database is locked"),
            "{}",
            server.log_text()
        );
    });
}

// ---------------------------------------------------------------------------
// Dashboard

/// The value of `name="csrf"` in a page.
pub(crate) fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field:\n{page}"));
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// `name=value` of a Set-Cookie header, and the whole header.
pub(crate) fn set_cookie(r: &Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| (v.split(';').next().unwrap().to_string(), v))
}

/// Logs in; returns the session cookie (`name=value`).
fn login(server: &Server, http: &Client, password: &str) -> (StatusCode, Option<String>) {
    let r = http.get(server.url("/dashboard/login")).send().unwrap();
    let (csrf_cookie, _) = set_cookie(&r, "presswire_csrf").unwrap();
    let csrf = csrf_of(&r.text().unwrap());
    let r = http
        .post(server.url("/dashboard/login"))
        .header("cookie", csrf_cookie)
        .form(&[("password", password), ("csrf", &csrf)])
        .send()
        .unwrap();
    let status = r.status();
    (status, set_cookie(&r, "presswire_session").map(|c| c.0))
}

/// `POST /dashboard/logout` with the session cookie and the form's `csrf`.
fn logout(server: &Server, http: &Client, session: &str, csrf: &str) -> Response {
    http.post(server.url("/dashboard/logout"))
        .header("cookie", session)
        .form(&[("csrf", csrf)])
        .send()
        .unwrap()
}

#[test]
fn web_dashboard_login_needs_csrf_sets_strict_cookies_and_limits_failures() {
    each_backend(|app| {
        let server = Server::start(app, &settings(""));
        let http = client();
        // Pages need a login.
        for path in [
            "/dashboard/",
            "/dashboard/contacts",
            "/dashboard/bounces",
            "/dashboard/sends/1",
        ] {
            let r = http.get(server.url(path)).send().unwrap();
            assert_eq!(r.status(), 303, "{path}");
            assert_eq!(r.headers()["location"], "/dashboard/login");
        }
        // The login form: CSRF cookie with every attribute.
        let r = http.get(server.url("/dashboard/login")).send().unwrap();
        assert_security_headers(&r);
        let (csrf_cookie, full) = set_cookie(&r, "presswire_csrf").unwrap();
        for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(full.contains(attr), "{full}");
        }
        let csrf = csrf_of(&r.text().unwrap());
        // Without the cookie, without the field, with a forged field: 403.
        let post = |cookie: Option<&str>, csrf: &str, password: &str| {
            let mut req = http
                .post(server.url("/dashboard/login"))
                .form(&[("password", password), ("csrf", csrf)]);
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            req.send().unwrap()
        };
        assert_eq!(post(None, &csrf, PASSWORD).status(), 403);
        assert_eq!(post(Some(&csrf_cookie), "", PASSWORD).status(), 403);
        let forged = format!(
            "{}.0000000000000000",
            csrf_cookie.split('=').nth(1).unwrap()
        );
        assert_eq!(post(Some(&csrf_cookie), &forged, PASSWORD).status(), 403);
        // A wrong password: 401 and no session.
        let r = post(Some(&csrf_cookie), &csrf, "wrong password");
        assert_eq!(r.status(), 401);
        assert!(set_cookie(&r, "presswire_session").is_none());
        // The right one: a session cookie with every attribute, and the pages.
        let r = post(Some(&csrf_cookie), &csrf, PASSWORD);
        assert_eq!(r.status(), 303);
        let (session, full) = set_cookie(&r, "presswire_session").unwrap();
        for attr in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=43200",
        ] {
            assert!(full.contains(attr), "{full}");
        }
        let (status, page) = text(
            http.get(server.url("/dashboard/"))
                .header("cookie", &session)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Nothing has been sent yet"), "{page}");
        // A tampered session cookie is no session.
        let tampered = session.replacen("presswire_session=", "presswire_session=9", 1);
        assert_eq!(
            http.get(server.url("/dashboard/"))
                .header("cookie", tampered)
                .send()
                .unwrap()
                .status(),
            303
        );
        // Logging out needs the page's CSRF token.
        let (_, page) = text(
            http.get(server.url("/dashboard/"))
                .header("cookie", &session)
                .send()
                .unwrap(),
        );
        let logout_csrf = csrf_of(&page);
        let r = logout(&server, &http, &session, "x");
        assert_eq!(r.status(), 403);
        let r = logout(&server, &http, &session, &logout_csrf);
        assert_eq!(r.status(), 303);
        assert!(set_cookie(&r, "presswire_session")
            .unwrap()
            .1
            .contains("Max-Age=0"));

        // Failed logins are limited: after five, even the right password waits.
        for _ in 0..presswire::web::auth::MAX_FAILURES {
            assert_eq!(login(&server, &http, "guess").0, 401);
        }
        let r = {
            let r = http.get(server.url("/dashboard/login")).send().unwrap();
            let (c, _) = set_cookie(&r, "presswire_csrf").unwrap();
            let csrf = csrf_of(&r.text().unwrap());
            post(Some(&c), &csrf, PASSWORD)
        };
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
    });
}

/// A logged-in GET of `/dashboard/`: 200 with the page, or the 303 to the
/// login page of a cookie that opens nothing.
fn dashboard_status(server: &Server, http: &Client, session: &str) -> StatusCode {
    get_as(server, http, session, "/dashboard/").status()
}

/// Regression: logging out only told the browser to drop its cookie, and
/// the old cookie still opened the dashboard. Now the session is gone from
/// the database, for every `serve` process that shares it.
#[test]
fn web_logout_ends_the_session_on_the_server_for_every_serve_process() {
    each_backend(|app| {
        let ctx = app.backend;
        // Two processes on the same database with the same settings, as
        // behind a load balancer.
        let same = settings("");
        let a = Server::start(app, &same);
        let b = Server::start(app, &same);
        let http = client();
        let (status, session) = login(&a, &http, PASSWORD);
        assert_eq!(status, 303, "[{ctx}]");
        let session = session.unwrap();
        assert_eq!(dashboard_status(&a, &http, &session), 200, "[{ctx}]");
        assert_eq!(dashboard_status(&b, &http, &session), 200, "[{ctx}]");
        assert_eq!(
            app.count("SELECT count(*) FROM dashboard_sessions"),
            1,
            "[{ctx}]"
        );
        // The cookie's token itself is not in the database.
        let token = session.split_once('=').unwrap().1;
        assert!(
            app.texts("SELECT token_hash FROM dashboard_sessions")[0][0].as_deref() != Some(token),
            "[{ctx}]"
        );

        // Log out on the other process.
        let (_, page) = text(get_as(&b, &http, &session, "/dashboard/"));
        let r = logout(&b, &http, &session, &csrf_of(&page));
        assert_eq!(r.status(), 303, "[{ctx}]");
        assert_eq!(r.headers()["location"], "/dashboard/login", "[{ctx}]");
        // The old cookie, kept: nothing opens for it, on either process.
        for server in [&a, &b] {
            let r = get_as(server, &http, &session, "/dashboard/");
            assert_eq!(r.status(), 303, "[{ctx}]");
            assert_eq!(r.headers()["location"], "/dashboard/login", "[{ctx}]");
            assert_eq!(
                get_as(server, &http, &session, "/dashboard/contacts").status(),
                303,
                "[{ctx}]"
            );
        }
        assert_eq!(
            app.count("SELECT count(*) FROM dashboard_sessions"),
            0,
            "[{ctx}]"
        );
        // Logging out again with it is not possible either.
        let r = logout(&a, &http, &session, "x");
        assert_eq!(r.status(), 303, "[{ctx}]");
        // A new login works as before.
        let (status, again) = login(&a, &http, PASSWORD);
        assert_eq!(status, 303, "[{ctx}]");
        assert_eq!(dashboard_status(&b, &http, &again.unwrap()), 200, "[{ctx}]");
    });
}

/// Regression: the failed-login limit lived in memory, so restarting
/// `serve` gave an attacker five more guesses.
#[test]
fn web_login_lockout_survives_a_restart_of_serve() {
    each_backend(|app| {
        let ctx = app.backend;
        let port = free_port();
        let server = Server::start_on(app, port, &settings(""));
        let http = client();
        for _ in 0..presswire::web::auth::MAX_FAILURES {
            assert_eq!(login(&server, &http, "guess").0, 401, "[{ctx}]");
        }
        assert_eq!(login(&server, &http, PASSWORD).0, 429, "[{ctx}]");
        drop(server);

        let server = Server::start_on(app, port, &settings(""));
        let r = {
            let r = http.get(server.url("/dashboard/login")).send().unwrap();
            let (c, _) = set_cookie(&r, "presswire_csrf").unwrap();
            let csrf = csrf_of(&r.text().unwrap());
            http.post(server.url("/dashboard/login"))
                .header("cookie", c)
                .form(&[("password", PASSWORD), ("csrf", &csrf)])
                .send()
                .unwrap()
        };
        assert_eq!(r.status(), 429, "[{ctx}] the lockout was forgotten");
        let wait: i64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            wait > 0 && wait <= presswire::web::auth::WINDOW_MS / 1000 + 1,
            "[{ctx}] {wait}"
        );
        assert!(set_cookie(&r, "presswire_session").is_none(), "[{ctx}]");
        // The five failures, counted once each; refused attempts add none.
        assert_eq!(
            app.count("SELECT count(*) FROM login_failures"),
            presswire::web::auth::MAX_FAILURES as i64,
            "[{ctx}]"
        );
    });
}

#[test]
fn web_dashboard_shows_sends_reports_contacts_and_bounces_without_secrets() {
    each_backend(|app| {
        let server = Server::start(app, &settings(""));
        let send = send_example(app);
        let http = client();
        // A bounce through the generic webhook, and an unsubscribe.
        let amara = "amara.okonkwo@nairobisignal.example";
        let body = json!({"events": [{"id": "evt-9", "type": "bounce", "email": amara, "permanent": true,
            "diagnostic": "550 5.1.1 user unknown <script>alert(1)</script>"}]});
        let r = http
            .post(server.url("/webhooks/generic"))
            .bearer_auth(GENERIC_SECRET)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let url = unsubscribe_url(app, send, "jonas.weber@rheinkurier.example");
        assert_eq!(
            http.post(&url)
                .body("List-Unsubscribe=One-Click")
                .send()
                .unwrap()
                .status(),
            200
        );

        let (status, session) = login(&server, &http, PASSWORD);
        assert_eq!(status, 303);
        let session = session.unwrap();
        let get = |path: &str| {
            let r = http
                .get(server.url(path))
                .header("cookie", &session)
                .send()
                .unwrap();
            assert_security_headers(&r);
            assert_eq!(r.headers()["cache-control"], "no-store");
            let (status, page) = text(r);
            assert_eq!(status, 200, "{path}: {page}");
            for secret in [
                GENERIC_SECRET,
                MAILGUN_KEY,
                POSTMARK_PASSWORD,
                PASSWORD,
                "$argon2",
            ] {
                assert!(!page.contains(secret), "{path} shows a secret");
            }
            page
        };
        let page = get("/dashboard/");
        assert!(
            page.contains(&format!("href=\"/dashboard/sends/{send}\"")),
            "{page}"
        );
        assert!(page.contains("name=\"viewport\""), "{page}");
        let page = get(&format!("/dashboard/sends/{send}"));
        assert!(page.contains("id=\"count-sent\">3<"), "{page}");
        assert!(page.contains("id=\"count-bounced\">1<"), "{page}");
        let page = get("/dashboard/contacts?q=WEBER");
        assert!(
            page.contains("jonas.weber@rheinkurier.example") && page.contains("unsubscribed"),
            "{page}"
        );
        assert!(!page.contains(amara), "{page}");
        let page = get("/dashboard/contacts?q=%25");
        assert!(page.contains("No contact matches"), "{page}");
        let page = get("/dashboard/bounces");
        assert!(
            page.contains(amara) && page.contains("userunknown"),
            "{page}"
        );
        let id = app.count("SELECT max(id) FROM bounces");
        let page = get(&format!("/dashboard/bounces/{id}"));
        assert!(page.contains("id=\"raw\""), "{page}");
        assert!(
            page.contains("&lt;script&gt;") && !page.contains("<script>"),
            "{page}"
        );
        assert!(page.contains("evt-9"), "{page}");
        // Unknown ids: 404 pages.
        let r = http
            .get(server.url("/dashboard/sends/999"))
            .header("cookie", &session)
            .send()
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = http
            .get(server.url("/dashboard/bounces/999"))
            .header("cookie", &session)
            .send()
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(
            http.get(server.url("/nowhere")).send().unwrap().status(),
            404
        );
    });
}

/// A logged-in GET of `path`: its status, headers and body.
fn get_as(server: &Server, http: &Client, session: &str, path: &str) -> Response {
    http.get(server.url(path))
        .header("cookie", session)
        .send()
        .unwrap()
}

#[test]
fn web_dashboard_send_page_shows_the_same_report_as_report_json() {
    each_backend(|app| {
        let id = known_send(app);
        let json = app.json(["report", &id.to_string(), "--format", "json"]);
        let ctx = app.backend;
        let server = Server::start(app, &settings(""));
        let http = client();
        let (status, session) = login(&server, &http, PASSWORD);
        assert_eq!(status, 303);
        let session = session.unwrap();

        let r = get_as(&server, &http, &session, &format!("/dashboard/sends/{id}"));
        assert_security_headers(&r);
        let (status, page) = text(r);
        assert_eq!(status, 200, "[{ctx}] {page}");
        // The headline counts and rates.
        for key in [
            "audience",
            "skipped",
            "targeted",
            "sent",
            "delivered",
            "bounced",
            "bounced_hard",
            "bounced_soft",
            "deferred",
            "uncertain",
            "complaints",
            "auto_replies",
            "unsubscribed",
            "needs_update",
        ] {
            let n = json["counts"][key].as_i64().unwrap();
            assert!(
                page.contains(&format!("id=\"n-{key}\">{n}<")),
                "[{ctx}] counts.{key} = {n} not on the page:\n{page}"
            );
        }
        for (id_, key) in [
            ("delivery", "delivery_rate"),
            ("bounce", "bounce_rate"),
            ("complaint", "complaint_rate"),
        ] {
            let pct = presswire::report::html::percent(json["rates"][key].as_f64());
            assert!(
                page.contains(&format!("id=\"rate-{id_}\">{pct}<")),
                "[{ctx}] rates.{key} = {pct} not on the page"
            );
        }
        // Bounces by reason (the code with its words), and a row of a
        // breakdown.
        for b in json["bounce_reasons"].as_array().unwrap() {
            let row = format!(
                "<td>{}</td><td>{}</td><td class=\"num\">{}</td>",
                presswire::bounce::reason::with_words(b["reason"].as_str().unwrap()),
                b["kind"].as_str().unwrap(),
                b["count"]
            );
            assert!(page.contains(&row), "[{ctx}] {row} not on the page");
        }
        for (breakdown, value) in [("by_outlet", "Beta Radio"), ("by_domain", "delta.example")] {
            let g = json[breakdown]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["value"] == value)
                .unwrap();
            let num = |k: &str| format!("<td class=\"num\">{}</td>", g[k]);
            let row = format!(
                "<th scope=\"row\">{value}</th>{}{}{}{}{}",
                num("targeted"),
                num("delivered"),
                num("bounced"),
                num("failed"),
                num("complaints")
            );
            assert!(
                page.contains(&row),
                "[{ctx}] {row} not on the page:\n{page}"
            );
        }
        // Countries by name, and the language French readers got.
        for label in ["DE Germany", "KE Kenya", "fr (got en)", "sw (got en)"] {
            assert!(
                page.contains(&format!("<th scope=\"row\">{label}</th>")),
                "[{ctx}] {label} not on the page"
            );
        }
        // The list of sends counts as the report and `presswire sends` do:
        // delivered is accepted and not bounced since (4, where 6 were
        // accepted by the relay).
        let (_, list) = text(get_as(&server, &http, &session, "/dashboard/"));
        let c = &json["counts"];
        for (class, n) in [
            ("n-delivered", c["delivered"].as_i64().unwrap()),
            ("n-bounced", c["bounced"].as_i64().unwrap()),
            ("n-failed", c["failed"].as_i64().unwrap()),
            (
                "n-pending",
                c["deferred"].as_i64().unwrap() + c["pending"].as_i64().unwrap(),
            ),
        ] {
            assert!(
                list.contains(&format!("<span class=\"{class}\">{n}</span>")),
                "[{ctx}] {class} = {n} not in the list:\n{list}"
            );
        }
        let sends = app.ok(["sends"]);
        let row = sends
            .lines()
            .find(|l| l.contains("example"))
            .unwrap_or_else(|| panic!("[{ctx}] {sends}"));
        let cells: Vec<&str> = row
            .split(['│', '┆'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(
            cells[5..9],
            [
                c["delivered"].to_string(),
                c["bounced"].to_string(),
                c["failed"].to_string(),
                (c["deferred"].as_i64().unwrap() + c["pending"].as_i64().unwrap()).to_string()
            ],
            "[{ctx}] {sends}"
        );

        // The contacts to fix and the uncertain delivery, with their
        // names escaped (gus's tries to smuggle in a script).
        for f in json["to_fix"]
            .as_array()
            .unwrap()
            .iter()
            .chain(json["uncertain"].as_array().unwrap())
        {
            let email = f["email"].as_str().unwrap();
            assert!(page.contains(email), "[{ctx}] {email} not on the page");
        }
        assert!(
            page.contains("Gus &lt;script&gt;") && !page.contains("<script>"),
            "[{ctx}] {page}"
        );

        // The report to download, in each format, behind the same login.
        let r = get_as(
            &server,
            &http,
            &session,
            &format!("/dashboard/sends/{id}/report.json"),
        );
        assert_eq!(r.status(), 200, "[{ctx}]");
        assert_security_headers(&r);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;"));
        let got: Value = serde_json::from_str(&r.text().unwrap()).unwrap();
        for part in [
            "counts",
            "rates",
            "bounce_reasons",
            "by_outlet",
            "to_fix",
            "uncertain",
        ] {
            assert_eq!(got[part], json[part], "[{ctx}] {part}");
        }
        let r = get_as(
            &server,
            &http,
            &session,
            &format!("/dashboard/sends/{id}/report.csv"),
        );
        assert_eq!(r.status(), 200, "[{ctx}]");
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = r.text().unwrap();
        assert!(
            csv.starts_with("delivery_id,send_id,email,"),
            "[{ctx}] {csv}"
        );
        assert_eq!(
            csv.lines().count() as i64,
            1 + json["counts"]["audience"].as_i64().unwrap(),
            "[{ctx}] {csv}"
        );
        let r = get_as(
            &server,
            &http,
            &session,
            &format!("/dashboard/sends/{id}/report.html"),
        );
        assert_eq!(r.status(), 200, "[{ctx}]");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let html = r.text().unwrap();
        assert!(
            html.contains("Beta Radio") && !html.contains("<script>"),
            "[{ctx}]"
        );
        // Anything else is not there; without a session, nothing is.
        for path in [
            format!("/dashboard/sends/{id}/report.pdf"),
            "/dashboard/sends/999/report.json".to_string(),
        ] {
            assert_eq!(
                get_as(&server, &http, &session, &path).status(),
                404,
                "[{ctx}] {path}"
            );
        }
        let r = http
            .get(server.url(&format!("/dashboard/sends/{id}/report.csv")))
            .send()
            .unwrap();
        assert_eq!(r.status(), 303, "[{ctx}]");
        assert!(!r.text().unwrap().contains("delivery_id"), "[{ctx}]");
    });
}

#[test]
fn web_serve_refuses_plain_cookies_off_loopback_and_a_bad_password_hash() {
    let app = TestApp::sqlite();
    app.write("presswire.toml", "[serve]\ninsecure_http = true\n");
    let (_, err) = app.fails(
        2,
        [
            "--config",
            "presswire.toml",
            "serve",
            "--listen",
            "0.0.0.0:1",
        ],
    );
    assert!(
        err.contains("insecure_http") && err.contains("loopback"),
        "{err}"
    );
    app.write("presswire.toml", "[serve]\npassword_hash = \"hunter2\"\n");
    let (_, err) = app.fails(
        2,
        [
            "--config",
            "presswire.toml",
            "serve",
            "--listen",
            "127.0.0.1:1",
        ],
    );
    assert!(
        err.contains("password_hash") && !err.contains("hunter2"),
        "{err}"
    );
    // --hash-password makes a hash that the server takes.
    let mut child = app
        .command()
        .args(["serve", "--hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

// ---------------------------------------------------------------------------
// End to end, in headless Chromium

/// A WebDriver session with chromedriver driving headless Chromium
/// (W3C WebDriver protocol over HTTP; both are Debian packages).
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: Client,
}

impl Browser {
    /// A browser window of `width` × `height` CSS pixels; below 500 wide
    /// (headless Chromium's smallest window) as a phone, by emulation.
    fn start(width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) must be installed");
        let base = format!("http://127.0.0.1:{port}");
        let http = client();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromium must be installed");
        let mut options = json!({"binary": chromium, "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            format!("--window-size={},{height}", width.max(500)), "--hide-scrollbars",
            "--force-device-scale-factor=1"
        ]});
        if width < 500 {
            options["mobileEmulation"] = json!({"deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 1.0, "touch": true}});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        Browser {
            driver,
            base,
            session,
            http,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).json(&body),
        };
        let r: Value = req.send().unwrap().json().unwrap();
        assert!(r["value"].get("error").is_none(), "WebDriver {path}: {r}");
        r["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({"url": url}));
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v.as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            json!({"text": text}),
        );
    }

    fn page(&self) -> String {
        self.cmd("GET", "/source", json!({}))
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The page once it contains `text` (a click's navigation may still be
    /// loading when the click returns); panics after 15 seconds.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let page = self.page();
            if page.contains(text) {
                return page;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {text:?}:\n{page}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, path: &Path) {
        let png = self.cmd("GET", "/screenshot", json!({}));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where screenshots go: docs/ when `PRESSWIRE_SCREENSHOTS=docs` (to
/// refresh the README's pictures), else the test's folder.
fn screenshot_path(app: &TestApp, name: &str) -> PathBuf {
    if std::env::var("PRESSWIRE_SCREENSHOTS").as_deref() == Ok("docs") && app.backend == "sqlite" {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name)
    } else {
        app.path().join(name)
    }
}

#[test]
fn web_browser_opens_a_messages_unsubscribe_link_clicks_and_sees_it_on_the_dashboard() {
    each_backend(|app| {
        // Plain http on loopback: the one case where cookies go without Secure.
        let server = Server::start(app, &settings("insecure_http = true"));
        let send = send_example(app);
        let thandiwe = "thandiwe@capebroadcast.example";
        let url = unsubscribe_url(app, send, thandiwe);

        let browser = Browser::start(1100, 800);
        browser.goto(&url);
        browser.wait_for("Stop receiving press releases");
        assert_eq!(contact_status(app, thandiwe), "active");
        browser.screenshot(&screenshot_path(app, "web-unsubscribe.png"));
        browser.click("#unsubscribe");
        browser.wait_for("You are unsubscribed");
        assert_eq!(contact_status(app, thandiwe), "unsubscribed");
        assert_eq!(suppression(app, thandiwe).unwrap().0, "unsubscribed");

        browser.goto(&server.url("/dashboard/"));
        browser.wait_for("id=\"password\"");
        browser.type_into("#password", PASSWORD);
        browser.click("#login");
        browser.wait_for(&format!("#{send} "));
        browser.goto(&server.url("/dashboard/contacts?q=cape"));
        let page = browser.wait_for(thandiwe);
        assert!(page.contains("status-unsubscribed"), "{page}");
        browser.screenshot(&screenshot_path(app, "web-dashboard.png"));

        // Logging out ends the session on the server: the old cookie, put
        // back into the browser, opens nothing.
        let cookie = browser.cmd("GET", "/cookie/presswire_session", json!({}));
        let old = cookie["value"].as_str().unwrap().to_string();
        browser.click("form.logout button");
        browser.wait_for("id=\"password\"");
        browser.cmd(
            "POST",
            "/cookie",
            json!({"cookie": {"name": "presswire_session", "value": old, "path": "/",
                "httpOnly": true, "sameSite": "Strict"}}),
        );
        browser.goto(&server.url("/dashboard/contacts?q=cape"));
        let page = browser.wait_for("id=\"password\"");
        assert!(
            !page.contains(thandiwe) && !page.contains("Log out"),
            "[{}] {page}",
            app.backend
        );
        drop(browser);

        // The same dashboard at a phone's width.
        let phone = Browser::start(390, 844);
        phone.goto(&server.url("/dashboard/login"));
        phone.wait_for("id=\"password\"");
        phone.type_into("#password", PASSWORD);
        phone.click("#login");
        phone.wait_for("Log out");
        phone.goto(&server.url(&format!("/dashboard/sends/{send}")));
        phone.wait_for("count-sent");
        phone.screenshot(&screenshot_path(app, "web-dashboard-phone.png"));
    });
}
