//! Migrations that change tables holding data: a database made by an
//! earlier presswire keeps everything it held.

use std::borrow::Cow;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// The first SQLite migration that rebuilds the contacts table (their
/// address's uniqueness as a named index).
const CONTACTS_REBUILT: i64 = 20261128000002;

/// A contact list with tags, a send and a bounce, made at the schema just
/// before the contacts table was rebuilt, keeps every contact's id, tags,
/// deliveries and bounces through the rebuild; the database then still
/// refuses a second contact with the same address and a tag of no contact.
/// SQLite only: PostgreSQL has no such migration.
#[tokio::test]
async fn rebuilding_the_contacts_table_keeps_what_refers_to_contacts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.db");
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let mut before = sqlx::migrate!("migrations/sqlite");
    let earlier: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < CONTACTS_REBUILT)
        .cloned()
        .collect();
    before.migrations = Cow::Owned(earlier);
    before.run(&pool).await.unwrap();
    for sql in [
        "INSERT INTO contacts (id, email, email_key, domain, name, created_at, updated_at) VALUES \
         (7, 'Jane@x.example', 'jane@x.example', 'x.example', 'Jane', 1, 1), \
         (9, 'omar@y.example', 'omar@y.example', 'y.example', 'Omar', 1, 1)",
        "INSERT INTO contact_tags (contact_id, tag) VALUES (7, 'press'), (7, 'vip'), (9, 'press')",
        "INSERT INTO releases (id, slug, source_hash, created_at) VALUES (1, 'r', 'h', 1)",
        "INSERT INTO sends (id, release_id, created_at) VALUES (1, 1, 1)",
        "INSERT INTO deliveries (id, send_id, contact_id, email, created_at, updated_at) VALUES \
         (1, 1, 7, 'Jane@x.example', 1, 1), (2, 1, 9, 'omar@y.example', 1, 1)",
        "INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, source, received_at, created_at) \
         VALUES (2, 9, 'omar@y.example', 'hard', 'userunknown', 'file', 1, 1)",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let db = presswire::db::Db::open(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let rows = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            let rows: Vec<(i64, String)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            rows
        }
    };
    assert_eq!(
        rows("SELECT id, name FROM contacts ORDER BY id").await,
        [(7, "Jane".into()), (9, "Omar".into())]
    );
    assert_eq!(
        rows("SELECT contact_id, tag FROM contact_tags ORDER BY 1, 2").await,
        [(7, "press".into()), (7, "vip".into()), (9, "press".into())]
    );
    assert_eq!(
        rows("SELECT contact_id, email FROM deliveries ORDER BY id").await,
        [(7, "Jane@x.example".into()), (9, "omar@y.example".into())]
    );
    assert_eq!(
        rows("SELECT contact_id, reason FROM bounces").await,
        [(9, "userunknown".into())]
    );
    let second = sqlx::query(
        "INSERT INTO contacts (email, email_key, domain, created_at, updated_at) \
         VALUES ('JANE@x.example', 'jane@x.example', 'x.example', 2, 2)",
    )
    .execute(&db.pool)
    .await
    .expect_err("a second contact with the same address");
    assert!(second.to_string().contains("UNIQUE"), "{second}");
    let orphan = sqlx::query("INSERT INTO contact_tags (contact_id, tag) VALUES (99, 'press')")
        .execute(&db.pool)
        .await
        .expect_err("a tag of no contact");
    assert!(orphan.to_string().contains("FOREIGN KEY"), "{orphan}");
    // Forgetting a contact still takes its tags with it (ON DELETE CASCADE).
    sqlx::query("DELETE FROM contacts WHERE id = 7")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        rows("SELECT contact_id, tag FROM contact_tags ORDER BY 1, 2").await,
        [(9, "press".into())]
    );
    db.close().await;
}
