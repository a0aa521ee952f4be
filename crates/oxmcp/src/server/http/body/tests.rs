use super::*;

/// A summary in comparable form.
fn key(summary: &Summary<'_>) -> String {
    let arguments = summary.arguments.map(|a| match a {
        Arguments::Raw(raw) => serde_json::from_str::<Value>(raw.get()).unwrap(),
        Arguments::Parsed(value) => value.clone(),
    });
    format!(
        "{:?} {} {:?} {:?} {} {} {:?} {:?} {:?} {} {:?} {} {}",
        summary.shape,
        summary.has_method,
        summary.method,
        summary.id,
        summary.id_set,
        summary.answer,
        summary.name,
        summary.uri,
        summary.version,
        summary.capabilities,
        arguments,
        summary.expected_responses(false),
        summary.expected_responses(true),
    )
}

/// The fast path, when it takes the body, reads it the way a `Value` does.
fn same(text: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return fast(text).is_some();
    };
    let slow = key(&Summary::of(&value));
    match fast(text) {
        Some(summary) => {
            assert_eq!(key(&summary), slow, "{text}");
            true
        }
        None => false,
    }
}

#[test]
fn the_fast_path_reads_like_a_value() {
    let taken = [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
        r#" {"id":"a\"b","method":"tools\/call","params":{"name":"\u00e9","uri":5,"_meta":[1]}}"#,
        r#"{"id":null,"method":"x"}"#,
        r#"{"id":1.5,"method":null,"params":null}"#,
        r#"{"id":[1],"method":{"a":[1,{"b":2}]},"params":"text"}"#,
        r#"{"id":7,"result":{"content":[]}}"#,
        r#"{"id":7,"error":null}"#,
        r#"{"method":"notifications/initialized"}"#,
        r#"{}"#,
        r#"{"params":{"arguments":null,"_meta":{"io.modelcontextprotocol/clientCapabilities":null,"io.modelcontextprotocol/protocolVersion":true}}}"#,
        r#"{"params":{"_meta":"x","name":["a"],"other":{"deep":[[[]]]}}}"#,
        r#"{"id":9223372036854775808,"method":"m"}"#,
        r#"{"id":-3,"method":"m","extra":[true,false,null,1.5,-0]}"#,
    ];
    for text in taken {
        assert!(same(text), "the fast path should take {text}");
    }
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let refused = [
        r#"[{"id":1,"method":"a"},{"method":"b"}]"#.to_owned(),
        r#"[]"#.to_owned(),
        r#"{"id":1,"method":"m","x":1e5}"#.to_owned(),
        r#"5"#.to_owned(),
        r#""text""#.to_owned(),
        r#"{"method":"a","method":"b","id":1}"#.to_owned(),
        r#"{"id":1,"params":{"name":"a","name":"b"}}"#.to_owned(),
        format!(r#"{{"id":1,"method":"m","params":{{"arguments":{{"x":{deep}}}}}}}"#),
    ];
    for text in &refused {
        assert!(!same(text), "the fast path should refuse {text}");
    }
}

#[test]
fn what_a_value_rejects_never_takes_the_fast_path() {
    let call = |id: &str, arguments: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{arguments}}}}}"#
        )
    };
    let long = "9".repeat(400);
    let rejected = [
        call("1", r#"{"x":1e400}"#),
        call("1", r#"{"x":-1E+999}"#),
        call("1", &format!(r#"{{"x":{long}}}"#)),
        call("1e400", "{}"),
        call("1", r#"{"x":"\ud800"}"#),
        call("1", r#"{"x":"\uDC00 alone"}"#),
        call(r#""\ud800""#, "{}"),
        call("1", r#"{"x":"\q"}"#),
        call("1", r#"{"x":[1,]}"#),
        call("1", r#"{"x":01}"#),
        call("1", "{\"x\":\"tab\tin\"}"),
        call("1", &format!("{}{}", "[".repeat(130), "]".repeat(130))),
    ];
    for text in &rejected {
        assert!(serde_json::from_str::<Value>(text).is_err(), "{text}");
        assert!(fast(text).is_none(), "the fast path took {text}");
        assert!(Summary::read(text, &mut None).is_err(), "{text}");
    }
    // Look-alikes inside strings keep the fast path.
    let taken = [
        call(r#""550e8400-e29b-41d4""#, r#"{"x":"1e400 \\ud800 [[[["}"#),
        call("1", r#"{"x":1.5,"y":-20,"z":"\u00e9\n"}"#),
    ];
    for text in &taken {
        assert!(same(text), "the fast path should take {text}");
    }
}

#[test]
fn bodies_the_fast_path_refuses_are_read_the_slow_way() {
    let mut slow = None;
    let summary = Summary::read(r#"{"method":"a","method":"b","id":1}"#, &mut slow).unwrap();
    assert_eq!(
        summary.method.as_deref(),
        Some("b"),
        "a Value keeps the last"
    );
    let mut slow = None;
    let summary = Summary::read(r#"[{"id":1,"method":"a"},{"method":"b"}]"#, &mut slow).unwrap();
    assert_eq!(summary.shape, Some(Shape::Batch { len: 2, wanting: 1 }));
    assert_eq!(summary.expected_responses(false), 1);
    let deep = format!(r#"{{"id":1,"x":{}{}}}"#, "[".repeat(200), "]".repeat(200));
    assert!(
        Summary::read(&deep, &mut None).is_err(),
        "too deep for a Value"
    );
    assert!(Summary::read("{", &mut None).is_err());
    assert!(Summary::read(r#"{"a":1} x"#, &mut None).is_err());
}

#[test]
fn protocol_meta_keys_match_the_probe() {
    // The probe names these members literally.
    assert_eq!(
        oxmcp_protocol::meta::PROTOCOL_VERSION,
        "io.modelcontextprotocol/protocolVersion"
    );
    assert_eq!(
        oxmcp_protocol::meta::CLIENT_CAPABILITIES,
        "io.modelcontextprotocol/clientCapabilities"
    );
}

/// A body that is one request is decoded once, by the engine's decoder ([`Posted::read`]):
/// the summary it gives is the one the body pass gives, whenever it takes the body; the
/// bodies it leaves to the body pass are summarized by it.
#[test]
fn a_request_decoded_once_is_summarized_like_the_body_pass_reads_it() {
    let shared = crate::server::Router::new().build();
    let (_peer, handler) = crate::server::Router::connection(&shared, 4);
    let modern = {
        let mut headers = HeaderMap::new();
        headers.insert(
            "mcp-protocol-version",
            http::HeaderValue::from_static("2026-07-28"),
        );
        headers
    };
    let none = HeaderMap::new();
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    let call = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hi"}},{meta}}}}}"#
    );
    let escaped = format!(
        r#"{{"jsonrpc":"2.0","id":"a\"b","method":"prompts\/get","params":{{{meta},"name":"\u00e9","arguments":null}}}}"#
    );
    let legacy_call =
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
    let ping = r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#;
    // (body, headers, whether the decoded way takes it)
    let cases: Vec<(&str, &HeaderMap, bool)> = vec![
        (&call, &modern, true),
        (&escaped, &modern, true),
        (legacy_call, &none, true),
        (ping, &none, true),
        (&call, &none, true),
        // Modern, but params not read eagerly: the body pass reads them.
        (ping, &modern, false),
        (legacy_call, &modern, false),
        // `null` capabilities: present to the body pass, absent to the params.
        (
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"e","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":null}}}"#,
            &modern,
            false,
        ),
        // What a `Value` could refuse (an exponent), not a request, not valid.
        (
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"e","arguments":{"n":1e400}}}"#,
            &none,
            false,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            &none,
            false,
        ),
        (r#"{"jsonrpc":"2.0","id":6,"result":{}}"#, &none, false),
        (r#"{"id":7,"method":"ping"}"#, &none, false),
        (
            r#"{"jsonrpc":"2.0","id":8,"method":"ping","method":"x"}"#,
            &none,
            false,
        ),
        (
            r#"[{"jsonrpc":"2.0","id":9,"method":"ping"}]"#,
            &none,
            false,
        ),
    ];
    for (text, headers, decoded) in cases {
        let (mut eager, mut slow, mut reference) = (None, None, None);
        let read = Posted::read(&handler, headers, text, &mut eager, &mut slow);
        let want = Summary::read(text, &mut reference);
        match (read, want) {
            (Ok(read), Ok(mut want)) => {
                // `arguments: null` reads as none from the engine's params: the same to
                // the `Mcp-Param` checks, the only reader of arguments.
                let null = |a: &Arguments<'_>| match a {
                    Arguments::Raw(raw) => raw.get() == "null",
                    Arguments::Parsed(value) => value.is_null(),
                };
                if read.request.is_some() && want.arguments.as_ref().is_some_and(null) {
                    want.arguments = None;
                }
                // Nor are a legacy request's params: the legacy way checks none.
                if read.request.is_some() && read.legacy {
                    (want.name, want.uri, want.task_id, want.version) = (None, None, None, None);
                    (want.capabilities, want.arguments) = (false, None);
                }
                assert_eq!(read.request.is_some(), decoded, "{text}");
                assert_eq!(key(&read.summary), key(&want), "{text}");
                let initialize = want.method.as_deref() == Some("initialize");
                assert_eq!(
                    read.legacy,
                    super::routes_legacy(headers, initialize),
                    "{text}"
                );
            }
            (Err(_), Err(_)) => assert!(!decoded, "{text}"),
            (read, want) => panic!(
                "{text}: decoded {:?}, body pass {:?}",
                read.map(|r| key(&r.summary)),
                want.map(|w| key(&w))
            ),
        }
    }
}

/// [`plain`] skips through strings to their quotes and escapes, and still finds what it
/// looks for: exponents, long runs of digits and deep nesting outside strings, surrogate
/// escapes inside them.
#[test]
fn plain_skips_strings_and_finds_what_it_refuses() {
    let deep = format!("{}{}", "[".repeat(121), "]".repeat(121));
    let digits = format!(r#"{{"n":{}}}"#, "1".repeat(301));
    let in_string = format!(r#"{{"s":"{}e5{}"}}"#, "1".repeat(400), "[".repeat(200));
    let cases = [
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#,
            true,
        ),
        (r#"{"a":1e5}"#, false),
        (r#"{"a":"1e5"}"#, true),
        (r#"{"a":1.5E-3}"#, false),
        (r#"{"a":"x\ud800"}"#, false),
        (r#"{"a":"x\uD83D\uDE00"}"#, false),
        (r#"{"a":"x\u00e9 \" \\"}"#, true),
        (r#"{"a":"\\ud800"}"#, true),
        (r#"{"a":"unterminated"#, true),
        (r#"{"a":"escape at the end\"#, true),
        (r#"{"a":"\u"#, true),
        (r#"{"a":"\ud"#, true),
        (r#""\"#, true),
        (r#"""#, true),
        ("", true),
        ("e", true),
        ("1e", false),
        ("[1,2,{}]", true),
        (&deep, false),
        (&deep[1..deep.len() - 1], true),
        (&digits, false),
        (&in_string, true),
    ];
    for (text, want) in cases {
        assert_eq!(plain(text.as_bytes()), want, "{text}");
    }
}
