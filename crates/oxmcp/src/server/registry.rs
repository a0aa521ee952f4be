//! Registries of tools, resources, templates and prompts that can change at runtime.
//!
//! Readers take an immutable snapshot (an `Arc` clone under a read lock, no allocation);
//! a change builds a new snapshot. Each snapshot serializes its list pages once, on first
//! use, so `*/list` answers from cached text.

use std::sync::{Arc, OnceLock, RwLock};

use base64::Engine as _;
use indexmap::IndexMap;
use oxmcp_protocol::error::echo;
use oxmcp_protocol::ErrorObject;
use serde::Serialize;

/// List settings shared by every registry of a server.
#[derive(Debug, Clone)]
pub(crate) struct ListShape {
    /// The largest page; `None` lists everything at once.
    pub(crate) page_size: Option<usize>,
    /// The modern era's tail after the items: `"ttlMs":..,"cacheScope":..,"_meta":{..}`.
    pub(crate) modern_tail: String,
}

/// One registered item: its definition, serialized once, and what serves it.
pub(crate) struct Item<E> {
    pub(crate) json: String,
    /// Whether the definition mentions `x-mcp-header` (a tool argument mirrored into an
    /// HTTP header), found once here so that most calls need not look.
    pub(crate) header_params: bool,
    /// The MCP App a tool is linked to (`_meta.ui`), found once here.
    pub(crate) app: Option<super::apps::AppLink>,
    pub(crate) entry: E,
}

/// The items of a catalog, by key, in registration order. Keys are hashed with foldhash:
/// they are the server's own names, and a lookup is on every call. A key is shared: a
/// request's context names its target by it, without a copy.
pub(crate) type Items<E> = IndexMap<Arc<str>, Item<E>, foldhash::fast::RandomState>;

impl<E> Item<E> {
    fn new<D: Serialize>(def: &D, entry: E) -> Self {
        let json = serde_json::to_string(def).expect("protocol types always serialize");
        let header_params = json.contains("x-mcp-header");
        let app = super::apps::AppLink::of(&json);
        Item {
            json,
            header_params,
            app,
            entry,
        }
    }
}

/// An immutable view of a registry.
pub(crate) struct Catalog<E> {
    pub(crate) items: Items<E>,
    /// Per page: the legacy and the modern result text.
    pages: OnceLock<Vec<[String; 2]>>,
    /// The pages for a client without the MCP Apps extension, if they differ (tools only).
    plain_pages: OnceLock<Option<Vec<[String; 2]>>>,
}

impl<E> Catalog<E> {
    fn new(items: Items<E>) -> Self {
        Catalog {
            items,
            pages: OnceLock::new(),
            plain_pages: OnceLock::new(),
        }
    }

    /// The entry registered under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&E> {
        self.items.get(key).map(|i| &i.entry)
    }

    /// The `*/list` result for `cursor`, as JSON text.
    pub(crate) fn list(
        &self,
        field: &str,
        shape: &ListShape,
        modern: bool,
        cursor: Option<&str>,
    ) -> Result<String, ErrorObject> {
        let pages = self.pages.get_or_init(|| self.paginate(field, shape));
        page_of(pages, modern, cursor)
    }

    /// The pages a client without the MCP Apps extension sees, if they differ from the
    /// others: tools linked to an app without their `_meta.ui`, app-only tools left out.
    /// Made once per snapshot.
    pub(crate) fn plain_pages(&self, field: &str, shape: &ListShape) -> Option<&[[String; 2]]> {
        self.plain_pages
            .get_or_init(|| {
                if !self.items.values().any(|i| i.app.is_some()) {
                    return None;
                }
                let plain: Vec<String> = self
                    .items
                    .values()
                    .filter_map(|i| match &i.app {
                        Some(_) => super::apps::plain_tool(&i.json),
                        None => Some(i.json.clone()),
                    })
                    .collect();
                Some(paginate(
                    plain.iter().map(String::as_str).collect(),
                    field,
                    shape,
                ))
            })
            .as_deref()
    }

    /// [`Catalog::list`] of the items as `view` shows them: `None` leaves an item out,
    /// `Some` gives the definition to list (made for this one request, not cached).
    #[cfg(feature = "auth")]
    pub(crate) fn list_where<'a>(
        &'a self,
        field: &str,
        shape: &ListShape,
        modern: bool,
        cursor: Option<&str>,
        view: impl Fn(&str, &'a Item<E>) -> Option<std::borrow::Cow<'a, str>>,
    ) -> Result<String, ErrorObject> {
        let shown: Vec<std::borrow::Cow<'a, str>> = self
            .items
            .iter()
            .filter_map(|(key, item)| view(key, item))
            .collect();
        let jsons: Vec<&str> = shown.iter().map(|json| json.as_ref()).collect();
        let mut pages = paginate(jsons, field, shape);
        let index = page_index(cursor, pages.len())?;
        Ok(std::mem::take(&mut pages[index][usize::from(modern)]))
    }

    fn paginate(&self, field: &str, shape: &ListShape) -> Vec<[String; 2]> {
        let jsons: Vec<&str> = self.items.values().map(|i| i.json.as_str()).collect();
        paginate(jsons, field, shape)
    }
}

/// Page `cursor` of `pages`, as the legacy or the modern result text.
pub(crate) fn page_of(
    pages: &[[String; 2]],
    modern: bool,
    cursor: Option<&str>,
) -> Result<String, ErrorObject> {
    let index = page_index(cursor, pages.len())?;
    Ok(pages[index][usize::from(modern)].clone())
}

/// The index of the page `cursor` names, among `pages`.
fn page_index(cursor: Option<&str>, pages: usize) -> Result<usize, ErrorObject> {
    match cursor {
        None => Ok(0),
        Some(cursor) => decode_cursor(cursor)
            .filter(|i| *i < pages && *i > 0)
            .ok_or_else(|| {
                ErrorObject::invalid_params(format!("invalid cursor: {:?}", echo(cursor)))
            }),
    }
}

/// The pages of a list of item definitions: per page, the legacy and the modern result.
fn paginate(jsons: Vec<&str>, field: &str, shape: &ListShape) -> Vec<[String; 2]> {
    let size = shape.page_size.unwrap_or(usize::MAX).max(1);
    let chunks: Vec<&[&str]> = if jsons.is_empty() {
        vec![&[][..]]
    } else {
        jsons.chunks(size).collect()
    };
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut body = format!("\"{field}\":[{}]", chunk.join(","));
            if i + 1 < count {
                body.push_str(&format!(",\"nextCursor\":\"{}\"", encode_cursor(i + 1)));
            }
            [
                format!("{{{body}}}"),
                format!(
                    "{{\"resultType\":\"complete\",{body},{}}}",
                    shape.modern_tail
                ),
            ]
        })
        .collect()
}

fn encode_cursor(page: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("oxmcp-page:{page}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("oxmcp-page:")?
        .parse()
        .ok()
}

/// A registry: the current catalog, replaced whole on change.
pub(crate) struct Registry<E> {
    current: RwLock<Arc<Catalog<E>>>,
}

impl<E> Default for Registry<E> {
    fn default() -> Self {
        Registry {
            current: RwLock::new(Arc::new(Catalog::new(Items::default()))),
        }
    }
}

impl<E: Clone> Registry<E> {
    /// The current catalog.
    pub(crate) fn snapshot(&self) -> Arc<Catalog<E>> {
        self.current.read().expect("registry lock").clone()
    }

    /// A copy of the entry registered under `key` in the current catalog (without taking
    /// a snapshot).
    pub(crate) fn get(&self, key: &str) -> Option<E> {
        self.current
            .read()
            .expect("registry lock")
            .get(key)
            .cloned()
    }

    /// Reads the item registered under `key` in the current catalog (without taking a
    /// snapshot).
    /// `f` gets the key as registered too (shared, to be kept without a copy).
    pub(crate) fn read<R>(&self, key: &str, f: impl FnOnce(&Arc<str>, &Item<E>) -> R) -> Option<R> {
        self.current
            .read()
            .expect("registry lock")
            .items
            .get_key_value(key)
            .map(|(key, item)| f(key, item))
    }

    /// Adds an item unless one is registered under `key` already; returns whether it was
    /// added. The check and the addition are one step: of two racing additions of a key,
    /// one fails.
    pub(crate) fn insert_new<D: Serialize>(&self, key: String, def: &D, entry: E) -> bool {
        let item = Item::new(def, entry);
        let mut current = self.current.write().expect("registry lock");
        if current.items.contains_key(key.as_str()) {
            return false;
        }
        let mut items = copy(&current.items);
        items.insert(Arc::from(key), item);
        *current = Arc::new(Catalog::new(items));
        true
    }

    /// Adds or replaces many items at once: one new catalog for all of them (a server's
    /// startup registers everything with one copy, not one per item).
    pub(crate) fn insert_all<D: Serialize>(&self, all: impl IntoIterator<Item = (String, D, E)>) {
        let added: Vec<(Arc<str>, Item<E>)> = all
            .into_iter()
            .map(|(key, def, entry)| (Arc::from(key), Item::new(&def, entry)))
            .collect();
        if !added.is_empty() {
            self.change(|items| items.extend(added));
        }
    }

    /// Removes the items under `old` and adds `new` in one change; an item whose key is
    /// registered, and not under `old`, is not added: its key is returned.
    pub(crate) fn replace<'a, D: Serialize + 'a>(
        &self,
        old: &[String],
        new: impl IntoIterator<Item = (&'a String, &'a D, &'a E)>,
    ) -> Vec<String>
    where
        E: 'a,
    {
        let new: Vec<_> = new
            .into_iter()
            .map(|(key, def, entry)| (Arc::from(key.as_str()), Item::new(def, entry.clone())))
            .collect();
        self.change(|items| {
            for key in old {
                items.shift_remove(key.as_str());
            }
            let mut refused = Vec::new();
            for (key, item) in new {
                if items.contains_key(&key) {
                    refused.push(key.to_string());
                } else {
                    items.insert(key, item);
                }
            }
            refused
        })
    }

    /// Removes an item; returns whether it was there.
    pub(crate) fn remove(&self, key: &str) -> bool {
        self.change(|items| items.shift_remove(key).is_some())
    }

    fn change<R>(&self, f: impl FnOnce(&mut Items<E>) -> R) -> R {
        let mut current = self.current.write().expect("registry lock");
        let mut items = copy(&current.items);
        let result = f(&mut items);
        *current = Arc::new(Catalog::new(items));
        result
    }
}

/// A copy of a catalog's items, to change.
fn copy<E: Clone>(items: &Items<E>) -> Items<E> {
    items
        .iter()
        .map(|(k, i)| {
            (
                k.clone(),
                Item {
                    json: i.json.clone(),
                    header_params: i.header_params,
                    app: i.app.clone(),
                    entry: i.entry.clone(),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(page_size: Option<usize>) -> ListShape {
        ListShape {
            page_size,
            modern_tail: r#""ttlMs":0,"cacheScope":"private""#.to_owned(),
        }
    }

    #[test]
    fn pages_follow_cursors_to_the_end() {
        let registry: Registry<u32> = Registry::default();
        for i in 0..5u32 {
            registry.insert_new(
                format!("t{i}"),
                &serde_json::json!({ "name": format!("t{i}") }),
                i,
            );
        }
        let catalog = registry.snapshot();
        let shape = shape(Some(2));
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let text = catalog
                .list("tools", &shape, true, cursor.as_deref())
                .unwrap();
            let page: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(page["resultType"], "complete");
            names.extend(
                page["tools"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["name"].as_str().unwrap().to_owned()),
            );
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(names, ["t0", "t1", "t2", "t3", "t4"]);
        assert!(catalog.list("tools", &shape, false, Some("bogus")).is_err());
        assert!(catalog
            .list("tools", &shape, false, Some(&encode_cursor(9)))
            .is_err());
    }

    /// Registering many at once keeps the order of first registration; a key given twice
    /// keeps its place and takes the later entry.
    #[test]
    fn insert_all_keeps_the_order_of_first_registration() {
        let all: Registry<u32> = Registry::default();
        let items = [("b", 1u32), ("a", 2), ("b", 3), ("c", 4)];
        all.insert_all(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::json!({ "name": k }), *v)),
        );
        let listed = |r: &Registry<u32>| -> Vec<(String, u32)> {
            let catalog = r.snapshot();
            catalog
                .items
                .iter()
                .map(|(k, i)| (k.to_string(), i.entry))
                .collect()
        };
        assert_eq!(
            listed(&all),
            [
                ("b".to_owned(), 3),
                ("a".to_owned(), 2),
                ("c".to_owned(), 4)
            ]
        );
        assert_eq!(all.get("b"), Some(3));
    }

    #[test]
    fn changes_make_a_new_snapshot() {
        let registry: Registry<u32> = Registry::default();
        assert!(registry.insert_new("a".into(), &serde_json::json!({"name": "a"}), 1));
        let taken = registry.snapshot();
        assert!(!registry.insert_new("a".into(), &serde_json::json!({"name": "a"}), 2));
        assert!(
            Arc::ptr_eq(&taken, &registry.snapshot()),
            "a refused insertion changes nothing"
        );
        assert_eq!(registry.get("a"), Some(1));
        let before = registry.snapshot();
        assert!(registry.remove("a"));
        assert!(!registry.remove("a"));
        assert!(before.get("a").is_some(), "old snapshots stay valid");
        assert!(registry.snapshot().get("a").is_none());
        let empty = registry
            .snapshot()
            .list("tools", &shape(None), false, None)
            .unwrap();
        assert_eq!(empty, r#"{"tools":[]}"#);
    }
}
