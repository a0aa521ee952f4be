use std::collections::{BTreeSet, HashMap};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::*;

const MODERN: ProtocolVersion = ProtocolVersion::V2026_07_28;
const V2025_11: ProtocolVersion = ProtocolVersion::V2025_11_25;
const V2025_06: ProtocolVersion = ProtocolVersion::V2025_06_18;

fn wire(schema: &RequestedSchema) -> Value {
    serde_json::to_value(schema).unwrap()
}

/// A plain choice.
#[derive(
    Deserialize, serde::Serialize, JsonSchema, Default, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
enum Size {
    #[default]
    Small,
    Large,
}

#[derive(Deserialize, JsonSchema, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Color {
    Blue,
    /// Like a fire truck.
    Red,
    #[schemars(title = "Leafy green")]
    Green,
    Yellow,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[allow(dead_code)]
struct Booking {
    /// Who is travelling.
    #[schemars(length(min = 1, max = 40))]
    name: String,
    #[schemars(email)]
    email: Option<String>,
    #[schemars(url)]
    homepage: Option<String>,
    day: Option<chrono_like::Date>,
    #[schemars(range(min = 1, max = 9))]
    guests: u8,
    budget: f64,
    breakfast: bool,
    #[serde(default)]
    size: Size,
    color: Option<Color>,
    extras: Vec<Size>,
    colors: BTreeSet<Color>,
    #[serde(default = "three")]
    nights: u32,
}

fn three() -> u32 {
    3
}

mod chrono_like {
    /// A calendar date.
    #[derive(serde::Deserialize, Debug)]
    pub(super) struct Date(#[allow(dead_code)] pub String);

    impl schemars::JsonSchema for Date {
        fn schema_name() -> std::borrow::Cow<'static, str> {
            "Date".into()
        }
        fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            schemars::json_schema!({"type": "string", "format": "date"})
        }
    }
}

#[test]
fn a_struct_flattens_to_a_form() {
    let schema = form_schema::<Booking>(MODERN).unwrap();
    let v = wire(&schema);
    assert_eq!(v["type"], "object");
    assert_eq!(
        v["required"],
        json!(["name", "guests", "budget", "breakfast", "extras", "colors"])
    );
    let p = &v["properties"];
    assert_eq!(
        p["name"],
        json!({"type": "string", "description": "Who is travelling.", "minLength": 1, "maxLength": 40})
    );
    assert_eq!(p["email"], json!({"type": "string", "format": "email"}));
    assert_eq!(p["homepage"], json!({"type": "string", "format": "uri"}));
    assert_eq!(p["day"], json!({"type": "string", "format": "date"}));
    assert_eq!(
        p["guests"],
        json!({"type": "integer", "minimum": 1, "maximum": 9})
    );
    assert_eq!(p["budget"], json!({"type": "number"}));
    assert_eq!(p["breakfast"], json!({"type": "boolean"}));
    assert_eq!(
        p["size"],
        json!({"type": "string", "description": "A plain choice.", "enum": ["small", "large"], "default": "small"})
    );
    assert_eq!(
        p["color"],
        json!({"type": "string", "oneOf": [
            // schemars lists undocumented variants first.
            {"const": "Blue", "title": "Blue"},
            {"const": "Yellow", "title": "Yellow"},
            {"const": "Red", "title": "Like a fire truck."},
            {"const": "Green", "title": "Leafy green"}
        ]})
    );
    assert_eq!(
        p["extras"],
        json!({"type": "array", "items": {"type": "string", "enum": ["small", "large"]}})
    );
    assert_eq!(p["colors"]["type"], "array");
    assert_eq!(
        p["colors"]["items"]["anyOf"][3],
        json!({"const": "Green", "title": "Leafy green"})
    );
    assert_eq!(
        p["nights"],
        json!({"type": "integer", "minimum": 0, "default": 3})
    );
    // What we send parses back as the protocol type, field for field.
    let back: RequestedSchema = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(wire(&back), v);
}

#[test]
fn serde_defaults_become_form_defaults() {
    #[derive(Deserialize, JsonSchema)]
    #[serde(default)]
    #[allow(dead_code)]
    struct Prefs {
        nickname: String,
        volume: f64,
        muted: bool,
        size: Size,
        tags: Vec<Size>,
        note: Option<String>,
    }
    impl Default for Prefs {
        fn default() -> Self {
            Prefs {
                nickname: "anon".into(),
                volume: 0.5,
                muted: true,
                size: Size::Large,
                tags: vec![Size::Small],
                note: None,
            }
        }
    }
    let v = wire(&form_schema::<Prefs>(MODERN).unwrap());
    assert_eq!(v.get("required"), None);
    let p = &v["properties"];
    assert_eq!(p["nickname"]["default"], "anon");
    assert_eq!(p["volume"]["default"], 0.5);
    assert_eq!(p["muted"]["default"], true);
    assert_eq!(p["size"]["default"], "large");
    assert_eq!(p["tags"]["default"], json!(["small"]));
    assert_eq!(
        p["note"],
        json!({"type": "string"}),
        "a null default is no default"
    );

    // Before 2025-11-25 only booleans have defaults.
    let v = wire(&form_schema::<Prefs>(V2025_06).unwrap_err_or_schema());
    let p = &v["properties"];
    assert_eq!(p["nickname"].get("default"), None);
    assert_eq!(p["volume"].get("default"), None);
    assert_eq!(p["muted"]["default"], true);
}

trait UnwrapErrOrSchema {
    fn unwrap_err_or_schema(self) -> RequestedSchema;
}

impl UnwrapErrOrSchema for Result<RequestedSchema, String> {
    /// Prefs has a multiple choice, which 2025-06-18 cannot show: strip it to test the rest.
    fn unwrap_err_or_schema(self) -> RequestedSchema {
        match self {
            Ok(s) => s,
            Err(e) => {
                assert!(e.contains("multiple choice"), "{e}");
                #[derive(Deserialize, JsonSchema)]
                #[serde(default)]
                #[allow(dead_code)]
                struct Flat {
                    nickname: String,
                    volume: f64,
                    muted: bool,
                }
                impl Default for Flat {
                    fn default() -> Self {
                        Flat {
                            nickname: "anon".into(),
                            volume: 0.5,
                            muted: true,
                        }
                    }
                }
                form_schema::<Flat>(V2025_06).unwrap()
            }
        }
    }
}

#[test]
fn older_revisions_get_what_they_can_show() {
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Pick {
        color: Color,
        size: Size,
    }
    let v = wire(&form_schema::<Pick>(V2025_06).unwrap());
    assert_eq!(
        v["properties"]["color"],
        json!({"type": "string", "enum": ["Blue", "Yellow", "Red", "Green"],
               "enumNames": ["Blue", "Yellow", "Like a fire truck.", "Leafy green"]})
    );
    let v = wire(&form_schema::<Pick>(V2025_11).unwrap());
    assert!(v["properties"]["color"]["oneOf"].is_array());

    let err = form_schema::<Booking>(V2025_06).unwrap_err();
    assert!(
        err.contains("field `colors`") || err.contains("field `extras`"),
        "{err}"
    );
    assert!(err.contains("2025-11-25"), "{err}");
}

#[test]
fn unrepresentable_types_are_refused_with_the_field_named() {
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        a: String,
    }
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Nested {
        inner: Inner,
    }
    let err = form_schema::<Nested>(MODERN).unwrap_err();
    assert!(
        err.starts_with("field `inner`:") && err.contains("`object`"),
        "{err}"
    );

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Numbers {
        list: Vec<u32>,
    }
    let err = form_schema::<Numbers>(MODERN).unwrap_err();
    assert!(
        err.contains("field `list`") && err.contains("multiple choice"),
        "{err}"
    );

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    enum Shape {
        Circle { r: f64 },
        Square(f64),
    }
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct WithShape {
        shape: Shape,
    }
    let err = form_schema::<WithShape>(MODERN).unwrap_err();
    assert!(
        err.contains("field `shape`") && err.contains("unit variants"),
        "{err}"
    );

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Map {
        m: HashMap<String, String>,
    }
    assert!(form_schema::<Map>(MODERN)
        .unwrap_err()
        .contains("field `m`"));

    assert!(form_schema::<String>(MODERN)
        .unwrap_err()
        .contains("a form is an object of fields"));
    assert!(form_schema::<Size>(MODERN).is_err());

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Any {
        v: serde_json::Value,
    }
    assert!(form_schema::<Any>(MODERN)
        .unwrap_err()
        .contains("field `v`"));

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Recursive {
        name: String,
        next: Option<Box<Recursive>>,
    }
    assert!(form_schema::<Recursive>(MODERN).is_err());
}

#[test]
fn an_empty_struct_is_a_confirmation() {
    #[derive(Deserialize, JsonSchema)]
    struct Confirm {}
    let v = wire(&form_schema::<Confirm>(MODERN).unwrap());
    assert_eq!(v, json!({"type": "object", "properties": {}}));
}

#[test]
fn content_is_checked_against_the_form() {
    let schema = form_schema::<Booking>(MODERN).unwrap();
    let good = json!({
        "name": "Ada", "email": "ada@example.com", "homepage": "https://ada.example",
        "day": "2026-07-28", "guests": 2, "budget": 99.5, "breakfast": true, "size": "large",
        "color": "Green", "extras": ["small"], "colors": ["Red", "Blue"], "unknown": {"x": 1}
    });
    let good = good.as_object().unwrap();
    validate(good, &schema).unwrap();

    let bad = |patch: Value| {
        let mut content = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                content.remove(k);
            } else {
                content.insert(k.clone(), v.clone());
            }
        }
        validate(&content, &schema).unwrap_err()
    };
    assert_eq!(
        bad(json!({"name": null})),
        "required field `name` is missing"
    );
    assert!(bad(json!({"name": ""})).starts_with("field `name`: length 0"));
    assert!(bad(json!({"name": 7})).contains("expected a string"));
    assert!(bad(json!({"email": "not-an-email"})).contains("valid email address"));
    assert!(bad(json!({"homepage": "no scheme"})).contains("URI"));
    assert!(bad(json!({"day": "28/07/2026"})).contains("date"));
    assert!(bad(json!({"guests": 10})).contains("out of range"));
    assert!(bad(json!({"guests": 1.5})).contains("not an integer"));
    assert!(bad(json!({"budget": "cheap"})).contains("expected a number"));
    assert!(bad(json!({"breakfast": "yes"})).contains("expected a boolean"));
    assert!(bad(json!({"size": "medium"})).contains("not one of the choices"));
    assert!(bad(json!({"color": "Purple"})).contains("not one of the choices"));
    assert!(bad(json!({"extras": "small"})).contains("list of choices"));
    assert!(bad(json!({"colors": ["Red", "Pink"]})).contains("\"Pink\""));
}

#[test]
fn format_checks() {
    assert!(format_ok(StringFormat::DateTime, "2026-07-28T10:00:00Z"));
    assert!(!format_ok(StringFormat::DateTime, "2026-07-28"));
    assert!(!format_ok(StringFormat::DateTime, "2026-07-2éT10:00"));
    assert!(format_ok(StringFormat::Uri, "urn:isbn:123"));
    assert!(!format_ok(StringFormat::Uri, "1http://x"));
    assert!(!format_ok(StringFormat::Email, "a b@c"));
}
