-- The text kinds of functions/src/validate.rs (SQL_DOMAINS) as SQL domains, written by
-- `make routes` (cargo xtask routes): edit the kinds, not this file. Each is the kind's
-- length in characters and the private.is_* function of its rule (02_text_rules.sql,
-- loaded before this file); the columns of a kind are of its domain, so a write straight
-- to PostgREST meets the API's bounds (a value outside them: SQLSTATE 23514). A change
-- here needs a migration too (scripts/schema-check.sh compares the two).

create domain public.short_name as text
  constraint short_name_check check (char_length(value) between 1 and 100 and private.is_plain_text(value));
comment on domain public.short_name is
  'validate::short_name (functions/src/validate.rs): 1 to 100 characters. Plain text: not blank, no control characters; leading and trailing whitespace is removed.';

create domain public.full_name as text
  constraint full_name_check check (char_length(value) between 1 and 100 and private.is_person_name(value));
comment on domain public.full_name is
  'validate::full_name (functions/src/validate.rs): 1 to 100 characters. Letters (any script), digits, spaces, - and ''; leading and trailing whitespace is removed.';

create domain public.title as text
  constraint title_check check (char_length(value) between 1 and 200 and private.is_plain_text(value));
comment on domain public.title is
  'validate::title (functions/src/validate.rs): 1 to 200 characters. Plain text: not blank, no control characters; leading and trailing whitespace is removed.';

create domain public.post_body as text
  constraint post_body_check check (char_length(value) <= 20000 and private.is_free_text(value));
comment on domain public.post_body is
  'validate::post_body (functions/src/validate.rs): at most 20000 characters. Free text: no control characters but line breaks and tabs.';

create domain public.description as text
  constraint description_check check (char_length(value) <= 1000 and private.is_free_text(value));
comment on domain public.description is
  'validate::description (functions/src/validate.rs): at most 1000 characters. Free text: no control characters but line breaks and tabs.';

create domain public.website as text
  constraint website_check check (char_length(value) <= 300 and private.is_https_url(value));
comment on domain public.website is
  'validate::website (functions/src/validate.rs): at most 300 characters. An https:// URI (RFC 3986: ASCII, a non-ASCII host in punycode, other characters percent-encoded) with a host and no user info.';

create domain public.upload_name as text
  constraint upload_name_check check (char_length(value) between 1 and 255 and private.is_file_name(value));
comment on domain public.upload_name is
  'validate::upload_name (functions/src/validate.rs): 1 to 255 characters. A plain file name: no path separators or control characters, not . or ..';
