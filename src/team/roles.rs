//! Roles, each including the one before: `viewer` reads everything;
//! `editor` imports and edits contacts; `sender` also suppresses (and,
//! later, starts sends); `admin` also manages users and others' API
//! tokens, forgets contacts and undoes imports. Stored as text.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::Error;

/// A user's role. The order of the variants is the order of rights:
/// `Role::Editor > Role::Viewer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Editor,
    Sender,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Editor, Role::Sender, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Sender => "sender",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what needs `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Role, Error> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::BadInput(format!(
                    "{s:?} is not a role: use viewer, editor, sender or admin"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_includes_the_ones_before() {
        assert!(Role::Admin.allows(Role::Sender));
        assert!(Role::Sender.allows(Role::Editor));
        assert!(Role::Editor.allows(Role::Viewer));
        assert!(!Role::Editor.allows(Role::Sender));
        assert!(!Role::Viewer.allows(Role::Editor));
        assert_eq!("Admin".parse::<Role>().unwrap(), Role::Admin);
        assert!("owner".parse::<Role>().is_err());
    }
}
