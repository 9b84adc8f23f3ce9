use super::Pattern;

/// Patterns this language accepts, with regex-lite's meaning (compared below).
const ACCEPTED: &[&str] = &[
    "^[A-Za-z0-9._/-]+$",
    "^[A-Za-z0-9._/-]{1,100}$",
    "^[A-Za-z0-9#._/:-]{1,100}$",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "^[^\\r\\n]{3,1000}$",
    "^[^\\r\\n]{1,500}$",
    "",
    "^",
    "$",
    "^$",
    "abc",
    "a.c",
    "^a*b?c+$",
    "x{2,}",
    "x{3}y{0,2}$",
    "a{0}",
    "\\d\\w\\s",
    "^\\D+$",
    "\\W",
    "\\S{2}",
    "[\\d_]+",
    "[\\w.-]+",
    "[]a]",
    "[a-]",
    "[-a]",
    "[^-]",
    "[a^]",
    "[.]",
    "\\.",
    "\\$",
    "a\\$",
    "\\\\$",
    "^\\^",
    "[\\]]",
    "[\\\\]",
    "é+",
    "[à-ü]+$",
    "^[^a-z]*$",
    "}",
    "]",
    "/",
    "#:",
    "\\t\\n\\r",
    "\\-\\/\\#",
];

const REFUSED: &[&str] = &[
    "a|b",
    "(a)",
    "(?i)a",
    "[[:alpha:]]",
    "[a[b]]",
    "[a&&b]",
    "[a--b]",
    "\\bword",
    "\\<a",
    "a**",
    "a+?",
    "*a",
    "{2}",
    "a{2,1}",
    "a{1,10001}",
    "a{x}",
    "a{1",
    "[abc",
    "[z-a]",
    "[\\D]",
    "\\",
    "\\x41",
    "\\p{L}",
    "a^b",
    "a$b",
];

fn values() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        "a",
        "ab",
        "abc",
        "aXc",
        "a\nc",
        "2024-01-02",
        "2024-1-02",
        "12345-01-02",
        "x\ny",
        "hello world",
        "é",
        "éé",
        "à",
        "ü",
        "ÿ",
        "aaaa",
        "a$",
        "$",
        "^",
        "^a",
        "-",
        "]",
        "}",
        "_",
        "xxy",
        "xxxyyy",
        "xxxyyyy",
        "abc\r",
        "\t\n\r",
        "-/#",
        "#:",
        ".",
        "\\",
        "/",
        "feature/x-1.2_3",
        "T-42#7:x",
        "   ",
        "A1 b2",
        "_a_",
        "bbbccc",
        "c",
        "cc",
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    for n in [2, 3, 99, 100, 101, 499, 500, 501, 999, 1000, 1001] {
        values.push("a".repeat(n));
        values.push("é".repeat(n));
        values.push(format!("{}\n", "b".repeat(n)));
    }
    values
}

#[test]
fn means_what_regex_lite_means() {
    let values = values();
    for pattern in ACCEPTED {
        let ours = Pattern::parse(pattern).unwrap_or_else(|e| panic!("`{pattern}` refused: {e}"));
        let search = regex_lite::Regex::new(pattern).unwrap();
        let full = regex_lite::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        for value in &values {
            assert_eq!(ours.is_match(value), search.is_match(value), "`{pattern}` on {value:?}");
            assert_eq!(ours.is_full_match(value), full.is_match(value), "full `{pattern}` on {value:?}");
        }
    }
}

#[test]
fn refuses_what_it_cannot_mean() {
    for pattern in REFUSED {
        assert!(Pattern::parse(pattern).is_err(), "`{pattern}` accepted");
    }
    assert_eq!(Pattern::parse("(a)").unwrap_err(), "groups and alternation are not supported");
}

#[test]
fn long_hostile_values_take_linear_time() {
    let pattern = Pattern::parse("[^\\r\\n]{1,1000}x").unwrap();
    let value = "a".repeat(6000);
    let started = std::time::Instant::now();
    assert!(!pattern.is_match(&value));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
