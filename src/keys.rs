//! The key space (`docs/runtime.md`, "Key space"): where each kind of message lives on the network.
//!
//! ```text
//! safething/v1/<thing-id>                          liveliness token (online/offline)
//! safething/v1/<thing-id>/description              signed description + lifecycle state (queryable, publications)
//! safething/v1/<thing-id>/attributes/<name>        changes (publications); current value/history/writes (queryable)
//! safething/v1/<thing-id>/events/<name>            notifications (publications)
//! safething/v1/<thing-id>/actions/<name>           requests and cancellations (queries) -> state replies
//! safething/v1/<thing-id>/requests/<request-id>    action state changes (publications, queryable)
//! safething/v1/<thing-id>/admin                    owner operations: publish, disable, claim, grant, ... (queries)
//! ```

use safething_ir::ThingId;

/// The prefix of every SAFEthing key.
pub const ROOT: &str = "safething/v1";

/// Matches every thing's description (discovery).
pub const ALL_DESCRIPTIONS: &str = "safething/v1/*/description";

/// Matches every thing's liveliness token.
pub const ALL_THINGS: &str = "safething/v1/*";

/// The liveliness token of a thing.
pub fn thing(id: &ThingId) -> String {
    format!("{ROOT}/{id}")
}

/// Everything under a thing (what its device answers).
pub fn thing_subtree(id: &ThingId) -> String {
    format!("{ROOT}/{id}/**")
}

/// The description of a thing.
pub fn description(id: &ThingId) -> String {
    format!("{ROOT}/{id}/description")
}

/// An attribute of a thing.
pub fn attribute(id: &ThingId, name: &str) -> String {
    format!("{ROOT}/{id}/attributes/{name}")
}

/// An event of a thing.
pub fn event(id: &ThingId, name: &str) -> String {
    format!("{ROOT}/{id}/events/{name}")
}

/// An action of a thing.
pub fn action(id: &ThingId, name: &str) -> String {
    format!("{ROOT}/{id}/actions/{name}")
}

/// The state of one action request.
pub fn request(id: &ThingId, request_id: &str) -> String {
    format!("{ROOT}/{id}/requests/{request_id}")
}

/// Owner operations on a thing.
pub fn admin(id: &ThingId) -> String {
    format!("{ROOT}/{id}/admin")
}

/// What a key under a thing addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route<'a> {
    /// `description`
    Description,
    /// `attributes/<name>`
    Attribute(&'a str),
    /// `events/<name>`
    Event(&'a str),
    /// `actions/<name>`
    Action(&'a str),
    /// `requests/<request-id>`
    Request(&'a str),
    /// `admin`
    Admin,
}

/// Splits a concrete key into the thing id and what it addresses.
/// `None` for keys outside the key space (or a liveliness key, which has no route).
pub fn parse(key: &str) -> Option<(&str, Route<'_>)> {
    let rest = key.strip_prefix(ROOT)?.strip_prefix('/')?;
    let (id, rest) = rest.split_once('/')?;
    let route = match rest.split_once('/') {
        None if rest == "description" => Route::Description,
        None if rest == "admin" => Route::Admin,
        Some(("attributes", name)) if is_chunk(name) => Route::Attribute(name),
        Some(("events", name)) if is_chunk(name) => Route::Event(name),
        Some(("actions", name)) if is_chunk(name) => Route::Action(name),
        Some(("requests", name)) if is_chunk(name) => Route::Request(name),
        _ => return None,
    };
    Some((id, route))
}

/// The thing id of a liveliness key (`safething/v1/<id>`).
pub fn parse_thing(key: &str) -> Option<&str> {
    let id = key.strip_prefix(ROOT)?.strip_prefix('/')?;
    is_chunk(id).then_some(id)
}

fn is_chunk(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '*', '$', '?', '#'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_parse_round_trip() {
        let id = ThingId::new("garden-01").unwrap();
        assert_eq!(
            parse(&attribute(&id, "moisture_level")),
            Some(("garden-01", Route::Attribute("moisture_level")))
        );
        assert_eq!(
            parse(&action(&id, "open_valve")),
            Some(("garden-01", Route::Action("open_valve")))
        );
        assert_eq!(
            parse(&description(&id)),
            Some(("garden-01", Route::Description))
        );
        assert_eq!(parse(&admin(&id)), Some(("garden-01", Route::Admin)));
        assert_eq!(parse_thing(&thing(&id)), Some("garden-01"));
        assert_eq!(parse("safething/v1/garden-01/attributes/a/b"), None);
        assert_eq!(parse("other/v1/garden-01/description"), None);
        assert_eq!(parse("safething/v1/garden-01/nope"), None);
    }
}
