//! An audience as SQL: the condition on contact `c` that its filters make,
//! and the query of an audience's contacts that planning a send builds on.

use super::contact_rows::SUPPRESSED_SQL;
use crate::contacts::Audience;
use crate::db::Params;

/// A SQL condition on contact `c` (always valid, `TRUE`-like when empty):
/// values of one kind OR-ed, kinds AND-ed, as [`Audience`] describes.
pub(crate) fn filter_sql(audience: &Audience, params: &mut Params) -> String {
    let mut all = vec!["1 = 1".to_string()];
    if !audience.tags.is_empty() {
        let list = push_all(params, &audience.tags);
        all.push(format!(
            "EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag IN ({list}))"
        ));
    }
    // One EXISTS per required tag: each must be there.
    for tag in &audience.require_tags {
        all.push(format!(
            "EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag = {})",
            params.push(tag.as_str())
        ));
    }
    if !audience.exclude_tags.is_empty() {
        let list = push_all(params, &audience.exclude_tags);
        all.push(format!(
            "NOT EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag IN ({list}))"
        ));
    }
    if !audience.countries.is_empty() {
        let list = push_all(params, &audience.countries);
        all.push(format!("c.country IN ({list})"));
    }
    // A language matches itself and its regional forms: `de` takes `de-AT`.
    any_of(&mut all, params, &audience.languages, |p, v| {
        let exact = p.push(v.to_string());
        let prefix = p.push(format!("{v}-%"));
        format!("c.language = {exact} OR c.language LIKE {prefix}")
    });
    // Beats and outlets ignore case. Both sides go through the database's
    // own lower(): SQLite's lowers only ASCII, so a value lowered in Rust
    // ("österreich") would never equal SQLite's lower("Österreich").
    // A beat matches anywhere in the contact's beat text ("climate" in "Energy, Climate").
    any_of(&mut all, params, &audience.beats, |p, v| {
        format!("lower(c.beat) LIKE lower({})", p.push(format!("%{v}%")))
    });
    any_of(&mut all, params, &audience.outlets, |p, v| {
        format!("lower(c.outlet) = lower({})", p.push(v.to_string()))
    });
    if let Some(text) = audience
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        // A search: LIKE's wildcards in the text are taken literally.
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let p = params.push(format!("%{escaped}%"));
        all.push(format!(
            "(c.email_key LIKE {p} ESCAPE '\\' OR lower(COALESCE(c.name, '')) LIKE {p} ESCAPE '\\' \
             OR lower(COALESCE(c.outlet, '')) LIKE {p} ESCAPE '\\')"
        ));
    }
    all.join(" AND ")
}

/// The placeholders of `values`, pushed in order, as a comma-separated list.
fn push_all(params: &mut Params, values: &[String]) -> String {
    let list: Vec<String> = values.iter().map(|v| params.push(v.as_str())).collect();
    list.join(", ")
}

/// Adds `(cond(v1) OR cond(v2) …)` to `all` when `values` is not empty.
fn any_of(
    all: &mut Vec<String>,
    params: &mut Params,
    values: &[String],
    cond: impl Fn(&mut Params, &str) -> String,
) {
    if values.is_empty() {
        return;
    }
    let parts: Vec<String> = values
        .iter()
        .map(|v| format!("({})", cond(params, v)))
        .collect();
    all.push(format!("({})", parts.join(" OR ")));
}

/// A query of an audience's contacts for a statement to build on
/// (planning a send inserts one delivery per contact with it): the
/// columns `id`, `email`, `email_key`, `status` and `suppressed` (the
/// reason, when the address or its domain is suppressed), unordered.
pub(crate) fn audience_sql(audience: &Audience, params: &mut Params) -> String {
    let filter = filter_sql(audience, params);
    format!(
        "SELECT c.id, c.email, c.email_key, c.status, {SUPPRESSED_SQL} AS suppressed \
         FROM contacts c WHERE {filter}"
    )
}
