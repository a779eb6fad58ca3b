//! The options of App Context's list calls and what a call asks the service to include.

use crate::error::Error;
use crate::transport::Request;

use super::{check, SortDirection, MAX_LIMIT};

/// What a list or object call asks the service to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Includes {
    pub(crate) custom: bool,
    pub(crate) status: bool,
    pub(crate) kind: bool,
    pub(crate) total_count: bool,
    pub(crate) nested: bool,
    pub(crate) nested_custom: bool,
    pub(crate) nested_status: bool,
    pub(crate) nested_type: bool,
}

impl Includes {
    pub(crate) fn object() -> Self {
        Includes {
            custom: true,
            status: true,
            kind: true,
            total_count: false,
            nested: false,
            nested_custom: false,
            nested_status: false,
            nested_type: false,
        }
    }

    pub(crate) fn list() -> Self {
        Includes {
            custom: false,
            ..Includes::object()
        }
    }

    /// The `include` value; `nested` names the nested object (`channel` or `uuid`).
    pub(crate) fn param(&self, nested: Option<&str>) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        for (on, name) in [
            (self.custom, "custom"),
            (self.status, "status"),
            (self.kind, "type"),
        ] {
            if on {
                parts.push(name.to_owned());
            }
        }
        if let Some(nested) = nested {
            let any = self.nested || self.nested_custom || self.nested_status || self.nested_type;
            if any {
                parts.push(nested.to_owned());
            }
            for (on, name) in [
                (self.nested_custom, "custom"),
                (self.nested_status, "status"),
                (self.nested_type, "type"),
            ] {
                if on {
                    parts.push(format!("{nested}.{name}"));
                }
            }
        }
        (!parts.is_empty()).then(|| parts.join(","))
    }
}

/// Which list a list call reads: decides the allowed sort keys and the nested object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Users,
    Channels,
    Memberships,
    Members,
}

impl ListKind {
    pub(crate) fn nested(self) -> Option<&'static str> {
        match self {
            ListKind::Users | ListKind::Channels => None,
            ListKind::Memberships => Some("channel"),
            ListKind::Members => Some("uuid"),
        }
    }

    pub(crate) fn sort_key_allowed(self, key: &str) -> bool {
        const OWN: [&str; 5] = ["id", "name", "updated", "status", "type"];
        const RELATION: [&str; 3] = ["updated", "status", "type"];
        match self.nested() {
            None => OWN.contains(&key),
            Some(nested) => {
                RELATION.contains(&key)
                    || key
                        .strip_prefix(nested)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|field| OWN.contains(&field))
            }
        }
    }
}

/// Filter, sort and paging of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ListOptions {
    pub(crate) filter: Option<String>,
    pub(crate) sort: Vec<(String, SortDirection)>,
    pub(crate) limit: Option<usize>,
    pub(crate) start: Option<String>,
    pub(crate) end: Option<String>,
}

impl ListOptions {
    pub(crate) fn check(&self, kind: ListKind) -> Result<(), Error> {
        if let Some(filter) = &self.filter {
            check::filter(filter)?;
        }
        for (key, _) in &self.sort {
            if !kind.sort_key_allowed(key) {
                return Err(Error::invalid(format!("{key:?} is not a sort key here")));
            }
        }
        if let Some(limit) = self.limit {
            check::limit(limit)?;
        }
        if self.start.is_some() && self.end.is_some() {
            return Err(Error::invalid(
                "give either start (the next page) or end (the previous page), not both",
            ));
        }
        for cursor in [&self.start, &self.end].into_iter().flatten() {
            if cursor.is_empty() {
                return Err(Error::invalid("a page cursor is empty"));
            }
        }
        Ok(())
    }

    pub(crate) fn apply(&self, mut request: Request, includes: &Includes) -> Request {
        if includes.total_count {
            request = request.param("count", "true");
        }
        request = request.param("limit", self.limit.unwrap_or(MAX_LIMIT).to_string());
        if let Some(filter) = &self.filter {
            request = request.param("filter", filter.clone());
        }
        if !self.sort.is_empty() {
            let sort: Vec<String> = self
                .sort
                .iter()
                .map(|(key, direction)| format!("{key}:{}", direction.as_str()))
                .collect();
            request = request.param("sort", sort.join(","));
        }
        request
            .param_opt("start", self.start.clone())
            .param_opt("end", self.end.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_values() {
        assert_eq!(
            Includes::object().param(None).as_deref(),
            Some("custom,status,type")
        );
        let mut includes = Includes::list();
        includes.nested_custom = true;
        assert_eq!(
            includes.param(Some("channel")).as_deref(),
            Some("status,type,channel,channel.custom")
        );
        includes.status = false;
        includes.kind = false;
        includes.nested_custom = false;
        assert_eq!(includes.param(Some("uuid")), None);
    }

    #[test]
    fn sort_keys_by_list() {
        assert!(ListKind::Users.sort_key_allowed("name"));
        assert!(!ListKind::Users.sort_key_allowed("channel.name"));
        assert!(ListKind::Memberships.sort_key_allowed("channel.name"));
        assert!(ListKind::Memberships.sort_key_allowed("updated"));
        assert!(!ListKind::Memberships.sort_key_allowed("name"));
        assert!(!ListKind::Memberships.sort_key_allowed("uuid.name"));
        assert!(ListKind::Members.sort_key_allowed("uuid.updated"));
        assert!(!ListKind::Members.sort_key_allowed("uuid."));
    }
}
