//! Row identifiers shared by the access rules, the store and the command line.
//!
//! Plain numbers, typed so a person's id is never passed where an administrator's is
//! expected. They carry no personal data and may be logged.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An enrolled person (row id of `people`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(pub i64);

/// An administrator (row id of `admins`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdminId(pub i64);

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "person {}", self.0)
    }
}

impl fmt::Display for AdminId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "administrator {}", self.0)
    }
}
