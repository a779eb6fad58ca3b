//! Filter, sort and paging of App Context lists, and the list answer.
//!
//! As recorded: every non-empty page carries `next` (the cursor past it, even on the last
//! page), an empty one none; `prev` when the page does not start at 0; `totalCount` only for
//! `count=true`. Cursors are unpadded base64 of the offset (`MTA` is 10), as the service's.

use std::cmp::Ordering;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::Value;

use super::render::{array, bad_request, reply, Ordered};
use crate::filter::Filter;
use crate::http::response::Reply;
use crate::http::routes::Query;

/// Largest and default page.
const MAX_LIMIT: usize = 100;

/// Filter, sort and paging of a list request.
pub(super) struct ListQuery {
    limit: usize,
    filter: Option<Filter>,
    sort: Vec<(Vec<String>, bool)>,
    start: Option<usize>,
    end: Option<usize>,
    count: bool,
}

pub(super) fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(offset.to_string())
}

pub(super) fn parse_cursor(raw: &str) -> Result<usize, Reply> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(raw.trim_end_matches('='))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| bad_request("Invalid page cursor."))
}

impl ListQuery {
    pub(super) fn parse(query: &Query<'_>, sort_keys: &[&str]) -> Result<ListQuery, Reply> {
        let limit = match query.get("limit") {
            None => MAX_LIMIT,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(bad_request("Invalid limit.")),
            },
        };
        let filter = match query.get("filter").filter(|f| !f.trim().is_empty()) {
            None => None,
            Some(raw) => Some(
                Filter::parse(raw)
                    .map_err(|e| bad_request(&format!("Invalid filter expression: {e}")))?,
            ),
        };
        let mut sort = Vec::new();
        for part in query
            .get("sort")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (key, direction) = part.split_once(':').unwrap_or((part, "asc"));
            let desc = match direction.to_ascii_lowercase().as_str() {
                "asc" => false,
                "desc" => true,
                _ => return Err(bad_request("Invalid sort direction.")),
            };
            if !sort_keys.contains(&key) {
                return Err(bad_request(&format!("Invalid sort key: {key}.")));
            }
            sort.push((key.split('.').map(str::to_owned).collect(), desc));
        }
        let start = query.get("start").map(parse_cursor).transpose()?;
        let end = query.get("end").map(parse_cursor).transpose()?;
        Ok(ListQuery {
            limit,
            filter,
            sort,
            start,
            end,
            // `true` in any case (Python sends `True`); `include=totalCount` does not count.
            count: query.flag("count"),
        })
    }

    /// Filters `items` (each a view to filter and sort by, and its answer as JSON text), sorts
    /// them, cuts the page and writes the list answer.
    pub(super) fn answer(&self, mut items: Vec<(Value, String)>, default_key: &[&str]) -> Reply {
        if let Some(filter) = &self.filter {
            items.retain(|(view, _)| filter.matches(Some(view), &Value::Null));
        }
        let default: Vec<String> = default_key.iter().map(|k| (*k).to_owned()).collect();
        items.sort_by(|(a, _), (b, _)| {
            for (path, desc) in &self.sort {
                let order = compare(lookup(a, path), lookup(b, path));
                let order = if *desc { order.reverse() } else { order };
                if order != Ordering::Equal {
                    return order;
                }
            }
            compare(lookup(a, &default), lookup(b, &default))
        });
        let total = items.len();
        let (from, to) = match (self.start, self.end) {
            (_, Some(end)) => {
                let end = end.min(total);
                (end.saturating_sub(self.limit), end)
            }
            (start, None) => {
                let start = start.unwrap_or(0).min(total);
                (start, (start + self.limit).min(total))
            }
        };
        let data: Vec<String> = items
            .drain(from..to)
            .map(|(_, rendered)| rendered)
            .collect();
        let mut answer = Ordered::new()
            .raw("status", "200")
            .raw("data", &array(&data));
        if self.count {
            answer = answer.raw("totalCount", &total.to_string());
        }
        if !data.is_empty() {
            answer = answer.value("next", &Value::String(cursor(to)));
        }
        if from > 0 {
            answer = answer.value("prev", &Value::String(cursor(from)));
        }
        reply(StatusCode::OK, answer.finish())
    }
}

fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = value;
    for key in path {
        current = current.get(key)?;
    }
    (!current.is_null()).then_some(current)
}

/// Missing values first, then numbers, then text (case-sensitive), then anything else.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => match (a.as_f64(), b.as_f64(), a.as_str(), b.as_str()) {
            (Some(x), Some(y), _, _) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (_, _, Some(x), Some(y)) => x.cmp(y),
            _ => a.to_string().cmp(&b.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_in_the_services_form() {
        for offset in [0, 1, 12, 1000] {
            assert_eq!(parse_cursor(&cursor(offset)).ok(), Some(offset));
        }
        for (offset, recorded) in [(1, "MQ"), (2, "Mg"), (3, "Mw"), (10, "MTA"), (15, "MTU")] {
            assert_eq!(cursor(offset), recorded);
        }
        assert!(parse_cursor("not a cursor!").is_err());
    }
}
