//! The two shapes a contact takes inside an import: a validated row from a
//! file ([`ValidRow`]) and a contact as stored ([`ContactRecord`]), both holding
//! their text fields packed in one allocation ([`FieldValues`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::columns::TEXT_FIELDS;
use super::store::{BindValue, ImportSql};
use crate::contacts::email::Address;
use crate::contacts::fields::Status;
use crate::contacts::TAG_SEPARATOR;

/// A validated row on its way to the database.
#[derive(Debug, Clone)]
pub(super) struct ValidRow {
    pub(super) file: usize,
    pub(super) line: u64,
    pub(super) address: Address,
    /// The row's text fields, its file's name as the `source` unless a
    /// column gives one.
    pub(super) values: FieldValues,
    pub(super) tags: BTreeSet<String>,
    pub(super) status: Option<Status>,
    pub(super) extra: BTreeMap<String, String>,
}

/// A contact's text fields ([`TEXT_FIELDS`]) in one allocation: the
/// values end to end, and where each ends. An empty value is no value (an
/// import never stores an empty text). A million rows of a dozen small
/// texts each, as maps built, merged and freed per row, cost the import as
/// much CPU as reading the CSV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FieldValues {
    pub(super) text: String,
    pub(super) ends: [usize; TEXT_FIELDS.len()],
}

impl FieldValues {
    /// The values of [`TEXT_FIELDS`], in that order.
    pub(super) fn pack<'v>(
        values: impl IntoIterator<Item = Option<&'v str>> + Clone,
    ) -> FieldValues {
        let len = values.clone().into_iter().flatten().map(str::len).sum();
        let mut packed = FieldValues {
            text: String::with_capacity(len),
            ends: [0; TEXT_FIELDS.len()],
        };
        for (end, value) in packed.ends.iter_mut().zip(values) {
            packed.text.push_str(value.unwrap_or(""));
            *end = packed.text.len();
        }
        packed
    }

    /// The value of the `i`th of [`TEXT_FIELDS`].
    pub(super) fn at(&self, i: usize) -> Option<&str> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let value = &self.text[start..self.ends[i]];
        (!value.is_empty()).then_some(value)
    }

    /// The values in the order of [`TEXT_FIELDS`].
    pub(super) fn iter(&self) -> impl Iterator<Item = Option<&str>> + Clone {
        (0..TEXT_FIELDS.len()).map(|i| self.at(i))
    }
}

/// The contact as stored, for comparing and merging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ContactRecord {
    pub(super) id: Option<i64>,
    pub(super) email: String,
    pub(super) key: String,
    pub(super) values: FieldValues,
    pub(super) tags: BTreeSet<String>,
    pub(super) status: Status,
    pub(super) extra: BTreeMap<String, String>,
    /// When a stored contact last changed (0 for a new one): an undo
    /// gives it back.
    pub(super) updated_at: i64,
}

impl ContactRecord {
    /// A stored contact from a row of [`ImportSql::lookup`]: its id, and
    /// `text` reading a text column by name.
    pub(super) fn from_columns<E>(
        id: i64,
        updated_at: i64,
        text: impl Fn(&str) -> Result<Option<String>, E>,
    ) -> Result<ContactRecord, E> {
        let mut values = Vec::with_capacity(TEXT_FIELDS.len());
        for field in TEXT_FIELDS {
            values.push(text(field.name())?);
        }
        let values = FieldValues::pack(values.iter().map(Option::as_deref));
        let extra = text("extra")?.unwrap_or_default();
        Ok(ContactRecord {
            id: Some(id),
            email: text("email")?.unwrap_or_default(),
            key: text("email_key")?.unwrap_or_default(),
            values,
            tags: text("tags")?
                .map(|t| t.split(TAG_SEPARATOR).map(str::to_string).collect())
                .unwrap_or_default(),
            status: text("status")?
                .and_then(|s| s.parse().ok())
                .unwrap_or_default(),
            extra: serde_json::from_str(&extra).unwrap_or_default(),
            updated_at,
        })
    }

    /// The contact's extra data as stored: a JSON object.
    pub(super) fn extra_json(&self) -> Cow<'static, str> {
        if self.extra.is_empty() {
            return Cow::Borrowed("{}");
        }
        Cow::Owned(serde_json::to_string(&self.extra).unwrap_or_else(|_| "{}".into()))
    }

    /// The values of [`ImportSql::columns`], in their order, with `extra`
    /// (from [`ContactRecord::extra_json`]) and the time of the import.
    pub(super) fn column_values<'c>(
        &'c self,
        extra: &'c str,
        now: i64,
    ) -> [BindValue<'c>; ImportSql::COLUMNS] {
        let mut values = [BindValue::Int(now); ImportSql::COLUMNS];
        values[0] = BindValue::Text(Some(&self.email));
        values[1] = BindValue::Text(Some(&self.key));
        // The domain: what follows the last @ of the normalised address.
        let domain = self.email.rsplit_once('@').map_or("", |(_, d)| d);
        values[2] = BindValue::Text(Some(domain));
        for (i, value) in self.values.iter().enumerate() {
            values[3 + i] = BindValue::Text(value);
        }
        values[3 + TEXT_FIELDS.len()] = BindValue::Text(Some(extra));
        values[4 + TEXT_FIELDS.len()] = BindValue::Text(Some(self.status.as_str()));
        // created_at and updated_at: `now`.
        values
    }

    /// A new contact from its first row, whose address has this `key`.
    pub(super) fn new(row: ValidRow, key: String) -> ContactRecord {
        ContactRecord {
            id: None,
            email: row.address.into_string(),
            key,
            values: row.values,
            tags: row.tags,
            status: row.status.unwrap_or_default(),
            extra: row.extra,
            updated_at: 0,
        }
    }
}
