//! Columns: the contact fields a CSV column can fill, the header names
//! real exports use for each (Outlook, Google Contacts, Mailchimp, media
//! databases), and mapping a file's header row to them, with `--map`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A contact field a CSV column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Email,
    Name,
    FirstName,
    LastName,
    Outlet,
    Role,
    Beat,
    Country,
    Language,
    Phone,
    Notes,
    Tags,
    Status,
    Source,
}

/// The text fields stored as they are (after trimming), in column order.
pub(super) const TEXT_FIELDS: [Field; 11] = [
    Field::Name,
    Field::FirstName,
    Field::LastName,
    Field::Outlet,
    Field::Role,
    Field::Beat,
    Field::Country,
    Field::Language,
    Field::Phone,
    Field::Notes,
    Field::Source,
];

/// Where `field` is in [`TEXT_FIELDS`], if it is one.
pub(super) fn text_slot(field: Field) -> Option<usize> {
    TEXT_FIELDS.iter().position(|f| *f == field)
}

impl Field {
    pub const ALL: [Field; 14] = [
        Field::Email,
        Field::Name,
        Field::FirstName,
        Field::LastName,
        Field::Outlet,
        Field::Role,
        Field::Beat,
        Field::Country,
        Field::Language,
        Field::Phone,
        Field::Notes,
        Field::Tags,
        Field::Status,
        Field::Source,
    ];

    /// The field's name in `--map`, exports and the database.
    pub fn name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Name => "name",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Outlet => "outlet",
            Field::Role => "role",
            Field::Beat => "beat",
            Field::Country => "country",
            Field::Language => "language",
            Field::Phone => "phone",
            Field::Notes => "notes",
            Field::Tags => "tags",
            Field::Status => "status",
            Field::Source => "source",
        }
    }

    /// Header names of real exports that hold this field, normalised by
    /// [`header_key`], best first: when several are present the first one
    /// listed fills the field and the others are kept as extra columns.
    pub(super) fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Email => &[
                "email",
                "emailaddress", // Outlook "E-mail Address", Mailchimp "Email Address"
                "email1value",  // Google "E-mail 1 - BindValue"
                "email1",
                "emailaddress1",
                "workemail",
                "businessemail",
                "primaryemail",
                "contactemail",
                "journalistemail",
                "mail",
            ],
            Field::Name => &[
                "name",
                "fullname",
                "displayname",
                "contactname",
                "journalistname",
                "journalist",
                "contact",
            ],
            Field::FirstName => &["firstname", "givenname", "forename", "fname", "first"],
            Field::LastName => &["lastname", "familyname", "surname", "lname", "last"],
            Field::Outlet => &[
                "outlet",
                "outletname",
                "mediaoutlet",
                "publication",
                "publicationname",
                "media",
                "newsroom",
                "organizationname",  // Google (2023 format)
                "organization1name", // Google (older format)
                "company",           // Outlook
                "companyname",
                "organization",
                "organisation",
                "employer",
            ],
            Field::Role => &[
                "role",
                "jobtitle", // Outlook
                "position",
                "organizationtitle",  // Google (2023 format)
                "organization1title", // Google (older format)
                "designation",
                "title", // media databases; Outlook's "Title" is Mr/Ms and loses to "Job Title"
            ],
            Field::Beat => &[
                "beat",
                "beats",
                "topics",
                "topic",
                "coverage",
                "desk",
                "section",
                "subjects",
                "department", // Outlook: a newsroom department is the beat
            ],
            Field::Country => &[
                "country",
                "countrycode",
                "countryregion",         // Outlook "Country/Region"
                "businesscountryregion", // Outlook
                "homecountryregion",
                "address1country", // Google
                "cc",              // Mailchimp's country code
                "nation",
            ],
            Field::Language => &[
                "language",
                "languages",
                "lang",
                "preferredlanguage",
                "locale",
            ],
            Field::Phone => &[
                "phone",
                "phonenumber",
                "businessphone", // Outlook
                "phone1value",   // Google
                "workphone",
                "telephone",
                "tel",
                "mobilephone",
                "mobile",
                "primaryphone",
            ],
            Field::Notes => &["notes", "note", "comments", "comment", "remarks"],
            Field::Tags => &[
                "tags",            // Mailchimp "TAGS"
                "labels",          // Google (2023 format)
                "groupmembership", // Google (older format)
                "categories",      // Outlook
                "tag",
                "category",
                "lists",
                "groups",
                "segments",
            ],
            Field::Status => &["status", "subscriptionstatus", "memberstatus"],
            Field::Source => &["source"],
        }
    }

    /// Whether a value of this field must fit on one line (it may end up in
    /// a mail header, where a line break would let it add headers).
    pub(super) fn single_line(self) -> bool {
        !matches!(self, Field::Notes | Field::Tags)
    }
}

impl FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Field, String> {
        let key = header_key(s);
        Field::ALL
            .into_iter()
            .find(|f| header_key(f.name()) == key)
            .ok_or_else(|| {
                let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "{s:?} is not a contact field; use one of {}, extra or ignore",
                    names.join(", ")
                )
            })
    }
}

/// What a column turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", untagged)]
pub enum ColumnTarget {
    Field(Field),
    /// Kept under its own name in the contact's `extra` data.
    #[serde(serialize_with = "ser_extra")]
    Extra,
    /// Left out, because `--map "Column=ignore"` said so.
    #[serde(serialize_with = "ser_ignore")]
    Ignore,
}

pub(super) fn ser_extra<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("extra")
}
pub(super) fn ser_ignore<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("ignore")
}

impl fmt::Display for ColumnTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnTarget::Field(x) => f.write_str(x.name()),
            ColumnTarget::Extra => f.write_str("extra"),
            ColumnTarget::Ignore => f.write_str("ignore"),
        }
    }
}

/// One `--map "Column=field"` override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    pub column: String,
    pub target: ColumnTarget,
}

impl FromStr for ColumnMap {
    type Err = String;
    fn from_str(s: &str) -> Result<ColumnMap, String> {
        let (column, field) = s.rsplit_once('=').ok_or_else(|| {
            format!("--map {s:?}: write it as \"Column name=field\", e.g. --map \"Mail=email\"")
        })?;
        let target = match header_key(field).as_str() {
            "extra" | "keep" => ColumnTarget::Extra,
            "ignore" | "skip" | "none" => ColumnTarget::Ignore,
            _ => ColumnTarget::Field(field.parse().map_err(|e| format!("--map {s:?}: {e}"))?),
        };
        Ok(ColumnMap {
            column: column.trim().to_string(),
            target,
        })
    }
}

/// A header reduced to lower-case letters and digits: "E-mail Address",
/// "e_mail address" and "EMAIL ADDRESS" all become "emailaddress".
pub fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Assigns each column of a header row its target: `--map` first, then the
/// best alias per field, everything else kept as extra.
pub fn map_columns(
    headers: &[String],
    overrides: &[ColumnMap],
) -> Result<Vec<ColumnTarget>, String> {
    let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
    let mut targets: Vec<Option<ColumnTarget>> = vec![None; headers.len()];
    for m in overrides {
        let key = header_key(&m.column);
        let Some(i) = keys.iter().position(|k| *k == key) else {
            return Err(format!(
                "--map {:?}: the file has no such column (its columns are {})",
                m.column,
                quoted_list(headers)
            ));
        };
        targets[i] = Some(m.target);
    }
    let taken: Vec<Field> = targets
        .iter()
        .filter_map(|t| match t {
            Some(ColumnTarget::Field(f)) => Some(*f),
            _ => None,
        })
        .collect();
    for field in Field::ALL {
        if taken.contains(&field) {
            continue;
        }
        let best = field.aliases().iter().find_map(|alias| {
            keys.iter()
                .enumerate()
                .find(|(i, k)| targets[*i].is_none() && k == alias)
                .map(|(i, _)| i)
        });
        if let Some(i) = best {
            targets[i] = Some(ColumnTarget::Field(field));
        }
    }
    Ok(targets
        .into_iter()
        .map(|t| t.unwrap_or(ColumnTarget::Extra))
        .collect())
}

pub(super) fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn outlook_headers() {
        let h = headers(&[
            "First Name",
            "Last Name",
            "Title",
            "Job Title",
            "Company",
            "E-mail Address",
            "Business Phone",
            "Mobile Phone",
            "Categories",
            "Country/Region",
        ]);
        let t = map_columns(&h, &[]).unwrap();
        assert_eq!(t[0], ColumnTarget::Field(Field::FirstName));
        assert_eq!(t[2], ColumnTarget::Extra, "Outlook's Title is Mr/Ms");
        assert_eq!(t[3], ColumnTarget::Field(Field::Role));
        assert_eq!(t[4], ColumnTarget::Field(Field::Outlet));
        assert_eq!(t[5], ColumnTarget::Field(Field::Email));
        assert_eq!(t[6], ColumnTarget::Field(Field::Phone));
        assert_eq!(
            t[7],
            ColumnTarget::Extra,
            "a second phone is kept, not dropped"
        );
        assert_eq!(t[8], ColumnTarget::Field(Field::Tags));
        assert_eq!(t[9], ColumnTarget::Field(Field::Country));
    }

    #[test]
    fn map_overrides_and_unknown_columns() {
        let h = headers(&["Mail", "Desk"]);
        let t = map_columns(&h, &["mail=email".parse().unwrap()]).unwrap();
        assert_eq!(
            t,
            [
                ColumnTarget::Field(Field::Email),
                ColumnTarget::Field(Field::Beat)
            ]
        );
        let err = map_columns(&h, &["Nope=email".parse().unwrap()]).unwrap_err();
        assert!(err.contains("no such column"), "{err}");
        assert!("Mail".parse::<ColumnMap>().is_err());
        assert!("Mail=wrong".parse::<ColumnMap>().is_err());
    }
}
