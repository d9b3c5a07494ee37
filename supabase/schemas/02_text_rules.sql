-- Text rules, one function per Rust validator (functions/src/validate.rs names them).
-- The domains of the text kinds (02_text_types.sql, next) and the CHECK constraints of
-- the other user-writable text columns use them, so a write straight to PostgREST meets
-- the same rules as the API (docs/security.md: the database refuses what the API
-- refuses); tests/tests/api/direct_postgrest.rs runs one corpus through both.

-- Rust's char::is_control (Unicode Cc) and its trim() (Unicode White_Space).
-- input::plain_text: not blank, no control characters; the API stores it trimmed.
create or replace function private.is_plain_text(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select p !~ '[\x01-\x1f\x7f-\x9f]'
     and p !~ '^[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]'
     and p !~ '[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$'
     and p <> '';
$$;

-- input::free_text: no control characters other than newline, carriage return and tab.
create or replace function private.is_free_text(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select p !~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]';
$$;

-- validate::person_name: plain text of letters (any script), digits, spaces, - and '.
create or replace function private.is_person_name(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select private.is_plain_text(p) and p ~ '^[[:alnum:] ''-]+$';
$$;

-- validate::HTTPS_URI (and the OpenAPI document's `format: uri` and `pattern`): an https
-- URI as RFC 3986 writes it: ASCII only, each character one a URI may hold in its place,
-- `%` only before two hex digits, no user info. An internationalised host is written in
-- punycode (https://xn--mnchen-3ya.de), a space or a non-ASCII path character
-- percent-encoded.
create or replace function private.is_https_url(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select p ~ ('^https://(?:[A-Za-z0-9._~!$&''()*+,;=:\[\]-]|%[0-9A-Fa-f]{2})+'
              '(?:/(?:[A-Za-z0-9._~!$&''()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?'
              '(?:\?(?:[A-Za-z0-9._~!$&''()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?'
              '(?:#(?:[A-Za-z0-9._~!$&''()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$');
$$;

-- validate::file_name: plain text, no path separators, not . or ..
create or replace function private.is_file_name(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select private.is_plain_text(p) and p !~ '[/\\]' and p not in ('.', '..');
$$;

-- validate::sanitize_bio's output (ammonia): text without < or >, and only the tags
-- b, i, em, strong, p, br and a with an http(s) or mailto href and the fixed rel (tag
-- names and schemes in any case, as the sanitizer keeps them). Any other markup,
-- attribute or URL scheme is refused, so no path that skips the sanitizer can store an
-- active element.
create or replace function private.is_safe_html(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select private.is_free_text(p)
     and regexp_replace(
           p,
           '</?(b|i|em|strong|p)>|<br>|</a>|<a( href="(https?://|mailto:)[^"]*")? rel="noopener noreferrer nofollow">',
           '', 'gi'
         ) !~ '[<>]';
$$;

revoke all on function private.is_plain_text(text), private.is_free_text(text),
  private.is_person_name(text), private.is_https_url(text), private.is_file_name(text),
  private.is_safe_html(text) from public;
grant execute on function private.is_plain_text(text), private.is_free_text(text),
  private.is_person_name(text), private.is_https_url(text), private.is_file_name(text),
  private.is_safe_html(text) to authenticated, service_role;
