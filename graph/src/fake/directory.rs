//! Directory reads: `groups?$filter=displayName eq '…'`, `groups/{id}`, `users/{id|upn}` and
//! the paged `groups/{id}/members` and `transitiveMembers` lists with mixed `@odata.type`,
//! `$select` projection, `$top` validation and opaque `$skiptoken` nextLinks (CONTRACT.md §2).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hyper::{Response, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Map, Value};

use super::http::{self, graph_error, Body};
use super::router::GraphReq;
use super::state::{DirObject, Kind, SELECTABLE};

/// Default page size of directory lists.
const DEFAULT_TOP: usize = 100;

/// Characters escaped in nextLink query values: enough to round-trip through form decoding
/// while keeping OData punctuation (`$ , ' ( )`) readable like Graph's own links.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'=')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

fn not_found(g: &GraphReq<'_>, what: &str) -> Response<Body> {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{what}' does not exist or one of its queried reference-property objects are not present."),
        g.ctx,
    )
}

/// Parses `$select`; `Err` is the 400 for an unknown property.
fn select(g: &GraphReq<'_>, type_name: &str) -> Result<Option<Vec<String>>, Box<Response<Body>>> {
    let Some(raw) = g.query_value("$select") else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for p in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some(known) = SELECTABLE.iter().find(|k| k.eq_ignore_ascii_case(p)) else {
            return Err(Box::new(graph_error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                &format!(
                    "Could not find a property named '{p}' on type 'microsoft.graph.{type_name}'."
                ),
                g.ctx,
            )));
        };
        out.push((*known).to_owned());
    }
    Ok(Some(out))
}

/// An object's JSON, projected onto `$select` (always keeping `@odata.type` and `id`).
fn project(o: &DirObject, select: Option<&[String]>) -> Value {
    let all = o.properties();
    let Some(sel) = select else {
        return Value::Object(all);
    };
    let mut m = Map::new();
    for key in ["@odata.type", "id"] {
        if let Some(v) = all.get(key) {
            m.insert(key.to_owned(), v.clone());
        }
    }
    for p in sel {
        if let Some(v) = all.get(p) {
            m.insert(p.clone(), v.clone());
        }
    }
    Value::Object(m)
}

fn context(g: &GraphReq<'_>, entity_set: &str, select: Option<&[String]>) -> String {
    let base = format!(
        "{}/{}/$metadata#{entity_set}",
        g.ctx.base,
        g.version.as_str()
    );
    match select {
        Some(s) if !s.is_empty() => format!("{base}({})", s.join(",")),
        _ => base,
    }
}

/// Parses `$top` (1..=999); `Err` is the observed `Request_UnsupportedQuery` 400.
fn top(g: &GraphReq<'_>) -> Result<usize, Box<Response<Body>>> {
    let Some(raw) = g.query_value("$top") else {
        return Ok(DEFAULT_TOP);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=999).contains(&n) => Ok(n),
        _ => Err(Box::new(graph_error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            &format!("Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive."),
            g.ctx,
        ))),
    }
}

/// A parsed `$filter` on groups.
enum Filter {
    Eq(String, String),
    StartsWith(String, String),
}

/// Reads a quoted OData string literal (`'O''Brien'`) from the start of `s`; returns the value
/// and the rest.
fn literal(s: &str) -> Option<(String, &str)> {
    let s = s.strip_prefix('\'')?;
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
                out.push('\'');
            } else {
                return Some((out, &s[i + 1..]));
            }
        } else {
            out.push(c);
        }
    }
    None
}

fn parse_filter(f: &str) -> Option<Filter> {
    let f = f.trim();
    if let Some(rest) = f
        .get(..11)
        .filter(|p| p.eq_ignore_ascii_case("startswith("))
        .map(|_| &f[11..])
    {
        let (prop, rest) = rest.split_once(',')?;
        let (value, rest) = literal(rest.trim_start())?;
        (rest.trim() == ")").then(|| Filter::StartsWith(prop.trim().to_owned(), value))
    } else {
        let mut it = f.splitn(3, ' ');
        let prop = it.next()?;
        let op = it.next()?;
        let rest = it.next()?;
        if !op.eq_ignore_ascii_case("eq") {
            return None;
        }
        let (value, rest) = literal(rest.trim_start())?;
        rest.trim()
            .is_empty()
            .then(|| Filter::Eq(prop.to_owned(), value))
    }
}

fn prop_str<'a>(o: &'a DirObject, prop: &str) -> Option<&'a str> {
    if prop.eq_ignore_ascii_case("displayName") {
        Some(&o.display_name)
    } else if prop.eq_ignore_ascii_case("id") {
        Some(&o.id)
    } else {
        None
    }
}

/// `GET /groups[?$filter=...][&$select=...][&$top=...]`.
pub(crate) fn list_groups(g: &GraphReq<'_>) -> Response<Body> {
    let sel = match select(g, "group") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let top = match top(g) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let filter = match g.query_value("$filter") {
        None => None,
        Some(raw) => match parse_filter(raw) {
            Some(f) => Some(f),
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    &format!("Invalid filter clause: '{raw}'."),
                    g.ctx,
                )
            }
        },
    };
    let Some(st) = g.shared.lock() else {
        return http::internal(g.ctx);
    };
    // Directory string comparisons are case-insensitive.
    let matches = |o: &DirObject| -> bool {
        match &filter {
            None => true,
            Some(Filter::Eq(p, v)) => {
                prop_str(o, p).is_some_and(|s| s.to_lowercase() == v.to_lowercase())
            }
            Some(Filter::StartsWith(p, v)) => {
                prop_str(o, p).is_some_and(|s| s.to_lowercase().starts_with(&v.to_lowercase()))
            }
        }
    };
    let value: Vec<Value> = st
        .objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::Group { .. }))
        .filter(|o| matches(o))
        .take(top)
        .map(|o| {
            // Entity sets of a known type don't repeat @odata.type on each item.
            let mut v = project(o, sel.as_deref());
            if let Some(m) = v.as_object_mut() {
                m.remove("@odata.type");
            }
            v
        })
        .collect();
    http::graph_json(
        StatusCode::OK,
        &json!({"@odata.context": context(g, "groups", sel.as_deref()), "value": value}),
        g.ctx,
    )
}

fn find_group(st: &super::state::State, id: &str) -> Option<usize> {
    let idx = *st.by_id.get(&id.to_lowercase())?;
    matches!(st.objects.get(idx)?.kind, Kind::Group { .. }).then_some(idx)
}

/// `GET /groups/{id}`.
pub(crate) fn get_group(g: &GraphReq<'_>, id: &str) -> Response<Body> {
    let sel = match select(g, "group") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(st) = g.shared.lock() else {
        return http::internal(g.ctx);
    };
    let Some(o) = find_group(&st, id).and_then(|i| st.objects.get(i)) else {
        return not_found(g, id);
    };
    let mut v = project(o, sel.as_deref());
    if let Some(m) = v.as_object_mut() {
        m.remove("@odata.type");
        m.insert(
            "@odata.context".into(),
            Value::from(format!("{}/$entity", context(g, "groups", sel.as_deref()))),
        );
    }
    http::graph_json(StatusCode::OK, &v, g.ctx)
}

/// `GET /users/{id|upn}`.
pub(crate) fn get_user(g: &GraphReq<'_>, key: &str) -> Response<Body> {
    let sel = match select(g, "user") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(st) = g.shared.lock() else {
        return http::internal(g.ctx);
    };
    let Some(o) = st.user_index(key).and_then(|i| st.objects.get(i)) else {
        return not_found(g, key);
    };
    let mut v = project(o, sel.as_deref());
    if let Some(m) = v.as_object_mut() {
        m.remove("@odata.type");
        m.insert(
            "@odata.context".into(),
            Value::from(format!("{}/$entity", context(g, "users", sel.as_deref()))),
        );
    }
    http::graph_json(StatusCode::OK, &v, g.ctx)
}

/// Position carried by a skiptoken.
struct Cursor {
    offset: usize,
    page: usize,
}

/// Binds a skiptoken to the list it pages: direct or transitive, and the OData cast.
fn rel_key(transitive: bool, cast: Option<&str>) -> String {
    format!("{}{}", u8::from(transitive), cast.unwrap_or(""))
}

fn skiptoken(group_id: &str, rel: &str, c: &Cursor) -> String {
    // Binary-looking like the real `RFNwdAIAAQAAAC...` tokens; clients must not parse it.
    let raw = format!("DSpt\u{2}\u{0}{rel}:{}:{}:{group_id}", c.offset, c.page);
    URL_SAFE_NO_PAD.encode(raw)
}

fn parse_skiptoken(tok: &str, group_id: &str, rel: &str) -> Option<Cursor> {
    let raw = URL_SAFE_NO_PAD.decode(tok).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let rest = s.strip_prefix("DSpt\u{2}\u{0}")?;
    let mut it = rest.splitn(4, ':');
    let t = it.next()?;
    let offset = it.next()?.parse().ok()?;
    let page = it.next()?.parse().ok()?;
    let gid = it.next()?;
    (t == rel && gid.eq_ignore_ascii_case(group_id)).then_some(Cursor { offset, page })
}

/// Types an OData cast segment may name on a member list.
const CASTS: &[&str] = &[
    "microsoft.graph.user",
    "microsoft.graph.group",
    "microsoft.graph.device",
    "microsoft.graph.servicePrincipal",
    "microsoft.graph.orgContact",
];

/// `GET /groups/{id}/members` and `/transitiveMembers`, optionally cast to one type
/// (`/transitiveMembers/microsoft.graph.user`).
pub(crate) fn members(
    g: &GraphReq<'_>,
    group_id: &str,
    transitive: bool,
    cast: Option<&str>,
) -> Response<Body> {
    let cast = match cast {
        None => None,
        Some(c) => match CASTS.iter().find(|k| k.eq_ignore_ascii_case(c)) {
            Some(k) => Some(*k),
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("Resource not found for the segment '{c}'."),
                    g.ctx,
                )
            }
        },
    };
    let rel = rel_key(transitive, cast);
    let sel = match select(g, "directoryObject") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let top = match top(g) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    for unsupported in ["$filter", "$orderby", "$search"] {
        if g.query_value(unsupported).is_some() && !advanced_query(g) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                "Unsupported Query.",
                g.ctx,
            );
        }
    }
    let cursor = match g.query_value("$skiptoken") {
        None => Cursor { offset: 0, page: 0 },
        Some(tok) => match parse_skiptoken(tok, group_id, &rel) {
            Some(c) => c,
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "The specified page token value has expired and can no longer be included in your request.",
                    g.ctx,
                )
            }
        },
    };
    let Some(st) = g.shared.lock() else {
        return http::internal(g.ctx);
    };
    let Some(gi) = find_group(&st, group_id) else {
        return not_found(g, group_id);
    };
    let mut all = st.members(gi, transitive);
    if let Some(cast) = cast {
        let want = format!("#{cast}");
        all.retain(|i| st.objects.get(*i).is_some_and(|o| o.odata_type() == want));
    }
    // Graph sometimes returns an empty page that still has a nextLink: serve the second page
    // empty once, then continue from the same offset.
    let empty_now =
        g.shared.cfg.empty_page_after_first && cursor.page == 1 && cursor.offset < all.len();
    let (items, next): (Vec<Value>, Option<Cursor>) = if empty_now {
        (
            Vec::new(),
            Some(Cursor {
                offset: cursor.offset,
                page: cursor.page + 1,
            }),
        )
    } else {
        let end = (cursor.offset + top).min(all.len());
        let items = all
            .get(cursor.offset..end)
            .unwrap_or(&[])
            .iter()
            .filter_map(|i| st.objects.get(*i))
            .map(|o| project(o, sel.as_deref()))
            .collect();
        let next = (end < all.len()).then_some(Cursor {
            offset: end,
            page: cursor.page + 1,
        });
        (items, next)
    };
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::from(context(g, "directoryObjects", sel.as_deref())),
    );
    let want_count = g
        .query_value("$count")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if want_count && advanced_query(g) && cursor.page == 0 {
        body.insert("@odata.count".into(), Value::from(all.len()));
    }
    if let Some(next) = next {
        body.insert(
            "@odata.nextLink".into(),
            Value::from(next_link(g, &skiptoken(group_id, &rel, &next))),
        );
    }
    body.insert("value".into(), Value::Array(items));
    http::graph_json(StatusCode::OK, &Value::Object(body), g.ctx)
}

/// `ConsistencyLevel: eventual` is present (the advanced-query switch).
fn advanced_query(g: &GraphReq<'_>) -> bool {
    g.headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
}

/// The absolute nextLink: same path and options, with the new `$skiptoken`.
fn next_link(g: &GraphReq<'_>, token: &str) -> String {
    let mut q: Vec<String> = g
        .query
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY_VALUE),
                utf8_percent_encode(v, QUERY_VALUE)
            )
        })
        .collect();
    q.push(format!("$skiptoken={token}"));
    format!("{}{}?{}", g.ctx.base, g.path, q.join("&"))
}

/// `POST users/{id|upn}/checkMemberGroups` `{"groupIds": [...]}` (1 to 20 ids): those the
/// user is a member of, nested groups included.
pub(crate) fn check_member_groups(g: &GraphReq<'_>, key: &str) -> Response<Body> {
    let bad = |msg: &str| graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", msg, g.ctx);
    let ids: Option<Vec<String>> = serde_json::from_slice::<Value>(g.body)
        .ok()
        .and_then(|v| v.get("groupIds").cloned())
        .and_then(|v| serde_json::from_value(v).ok());
    let Some(ids) = ids else {
        return bad("The request body must hold 'groupIds', a collection of strings.");
    };
    if ids.is_empty() || ids.len() > 20 {
        return bad("'groupIds' must list between 1 and 20 group ids.");
    }
    let Some(st) = g.shared.lock() else {
        return http::internal(g.ctx);
    };
    if let Some(status) = st.faults.fail_member_groups_with {
        return http::injected_error(
            status,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            g.ctx,
        );
    }
    let Some(idx) = st.user_index(key) else {
        return not_found(g, key);
    };
    let mine = st.groups_of(idx);
    let value: Vec<&String> = ids
        .iter()
        .filter(|id| mine.contains(&id.to_lowercase()))
        .collect();
    http::graph_json(
        StatusCode::OK,
        &json!({
            "@odata.context": format!("{}/{}/$metadata#Collection(Edm.String)", g.ctx.base, g.version.as_str()),
            "value": value,
        }),
        g.ctx,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_unescapes_doubled_quotes() {
        match parse_filter("displayName eq 'O''Brien''s keys'") {
            Some(Filter::Eq(p, v)) => {
                assert_eq!(p, "displayName");
                assert_eq!(v, "O'Brien's keys");
            }
            _ => panic!("not parsed"),
        }
        assert!(parse_filter("displayName eq 'unterminated").is_none());
        assert!(parse_filter("displayName eq 'a' or 1").is_none());
        assert!(matches!(
            parse_filter("startswith(displayName,'FI')"),
            Some(Filter::StartsWith(_, v)) if v == "FI"
        ));
    }

    #[test]
    fn skiptoken_round_trip_and_binding() {
        let rel = rel_key(true, None);
        let t = skiptoken(
            "G1",
            &rel,
            &Cursor {
                offset: 300,
                page: 3,
            },
        );
        let c = parse_skiptoken(&t, "g1", &rel).expect("parses");
        assert_eq!((c.offset, c.page), (300, 3));
        assert!(parse_skiptoken(&t, "g2", &rel).is_none());
        assert!(parse_skiptoken(&t, "g1", &rel_key(false, None)).is_none());
        let cast = rel_key(true, Some("microsoft.graph.user"));
        assert!(parse_skiptoken(&t, "g1", &cast).is_none());
        assert!(parse_skiptoken("garbage", "g1", &rel).is_none());
    }
}
