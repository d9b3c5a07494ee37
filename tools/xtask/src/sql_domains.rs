//! `supabase/schemas/02_text_types.sql`: the text kinds of `functions::validate`
//! ([`SQL_DOMAINS`]) as SQL domains, one per kind, written by `cargo xtask routes` with
//! the other generated files (and checked with them by `--check` and
//! tests/tests/api/routes.rs).
//!
//! A domain is the kind's length in characters and the `private.is_*` function of its
//! rule (02_text_rules.sql, which sorts before this file), with the kind's `about` as its
//! comment. The tables' columns of a kind are of its domain: the bounds are written once,
//! in the kind. A change of a kind changes this file, and `scripts/schema-check.sh` then
//! fails until a migration brings the database to it.

use std::fmt::Write as _;

use functions::validate::TextKind;
pub use functions::validate::SQL_DOMAINS;

/// Where the domains are written, relative to the repository.
pub const PATH: &str = "supabase/schemas/02_text_types.sql";

const HEADER: &str = "\
-- The text kinds of functions/src/validate.rs (SQL_DOMAINS) as SQL domains, written by
-- `make routes` (cargo xtask routes): edit the kinds, not this file. Each is the kind's
-- length in characters and the private.is_* function of its rule (02_text_rules.sql,
-- loaded before this file); the columns of a kind are of its domain, so a write straight
-- to PostgREST meets the API's bounds (a value outside them: SQLSTATE 23514). A change
-- here needs a migration too (scripts/schema-check.sh compares the two).
";

/// The check of a kind: its length, then its rule.
pub fn check(kind: &TextKind, rule: &str) -> String {
    let length = if kind.min == 0 {
        format!("char_length(value) <= {}", kind.max)
    } else {
        format!("char_length(value) between {} and {}", kind.min, kind.max)
    };
    format!("{length} and private.{rule}(value)")
}

/// The comment of a kind's domain.
pub fn comment(name: &str, kind: &TextKind) -> String {
    let length = if kind.min == 0 {
        format!("at most {} characters", kind.max)
    } else {
        format!("{} to {} characters", kind.min, kind.max)
    };
    format!(
        "validate::{name} (functions/src/validate.rs): {length}. {}",
        kind.about
    )
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The file: a `create domain` and its comment per kind, in the list's order.
pub fn sql() -> String {
    let mut s = String::from(HEADER);
    for (name, kind, rule) in SQL_DOMAINS {
        let _ = write!(
            s,
            "\ncreate domain public.{name} as text\n  constraint {name}_check check ({});\n\
             comment on domain public.{name} is\n  {};\n",
            check(kind, rule),
            literal(&comment(name, kind)),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_one_domain_with_its_bounds_and_rule() {
        let sql = sql();
        assert_eq!(
            sql.matches("create domain ").count(),
            SQL_DOMAINS.len(),
            "{sql}"
        );
        assert!(sql.contains(
            "create domain public.short_name as text\n  constraint short_name_check check \
             (char_length(value) between 1 and 100 and private.is_plain_text(value));"
        ));
        assert!(
            sql.contains("check (char_length(value) <= 20000 and private.is_free_text(value));")
        );
        // The person name's `about` has a quote, doubled in the literal.
        assert!(sql.contains("spaces, - and ''; leading"), "{sql}");
    }
}
