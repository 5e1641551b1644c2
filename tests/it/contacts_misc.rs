//! init, show, forget and suppressions.

use crate::harness::{each_backend, TestApp};

#[test]
fn init_is_idempotent_and_keeps_an_edited_config() {
    let app = TestApp::sqlite();
    let out = app.ok(["init"]);
    assert!(out.contains("wrote presswire.toml"), "{out}");
    let toml = std::fs::read_to_string(app.path().join("presswire.toml")).unwrap();
    assert!(toml.contains("# db = \"sqlite://presswire.db\""));
    std::fs::write(app.path().join("presswire.toml"), "# mine\n").unwrap();
    let out = app.ok(["init"]);
    assert!(out.contains("exists; kept"), "{out}");
    assert_eq!(
        std::fs::read_to_string(app.path().join("presswire.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn database_is_created_on_both_backends() {
    each_backend(|app| {
        app.ok(["init"]);
        assert_eq!(app.count("SELECT count(*) FROM contacts"), 0);
        assert_eq!(app.count("SELECT count(*) FROM deliveries"), 0);
    });
}
