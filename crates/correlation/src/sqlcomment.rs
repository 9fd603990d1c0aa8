//! sqlcommenter (<https://google.github.io/sqlcommenter/spec/>): tags appended to a SQL
//! statement as a comment, so slow-query logs and `pg_stat_activity` show where it came from.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What URL encoding leaves bare: RFC 3986's unreserved characters.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `sql` with `tags` appended as `/*key='value',…*/`: keys sorted, keys and values URL-encoded,
/// `'` in values escaped as `\'`. The comment goes before a final `;`. A statement that already
/// has a comment, or no tags, is returned unchanged, as the spec requires.
pub fn with_comment(sql: &str, tags: &[(&str, &str)]) -> String {
    if tags.is_empty() || sql.contains("/*") || sql.contains("--") {
        return sql.to_owned();
    }
    let mut pairs: Vec<String> = tags
        .iter()
        .map(|(key, value)| {
            let value = utf8_percent_encode(value, ENCODE)
                .to_string()
                .replace('\'', "\\'");
            format!("{}='{value}'", utf8_percent_encode(key, ENCODE))
        })
        .collect();
    pairs.sort();
    let comment = format!("/*{}*/", pairs.join(","));
    let body = sql.trim_end();
    match body.strip_suffix(';') {
        Some(statement) => format!("{} {comment};", statement.trim_end()),
        None => format!("{body} {comment}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_sorted_encoded_and_appended() {
        assert_eq!(
            with_comment(
                "SELECT * FROM orders",
                &[("session_id", "s-1"), ("correlation_id", "c_1")]
            ),
            "SELECT * FROM orders /*correlation_id='c_1',session_id='s-1'*/"
        );
        assert_eq!(
            with_comment("SELECT 1;  ", &[("route", "/polls 1000")]),
            "SELECT 1 /*route='%2Fpolls%201000'*/;"
        );
        assert_eq!(
            with_comment("SELECT 1", &[("a b", "it's")]),
            "SELECT 1 /*a%20b='it%27s'*/"
        );
    }

    #[test]
    fn statements_with_comments_or_no_tags_are_left_alone() {
        for sql in ["SELECT 1 /* mine */", "SELECT 1 -- mine", "/*x*/SELECT 1"] {
            assert_eq!(with_comment(sql, &[("k", "v")]), sql);
        }
        assert_eq!(with_comment("SELECT 1", &[]), "SELECT 1");
    }
}
