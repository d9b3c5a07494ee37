-- A profile website is an https URI as RFC 3986 writes it (the OpenAPI document's
-- `format: uri`): ASCII only, each character one a URI may hold in its place, `%` only
-- before two hex digits, no user info. An internationalised host is written in punycode
-- (https://xn--mnchen-3ya.de), a space or a non-ASCII path character percent-encoded.
-- Until now the rule (20261201000000_database_refuses.sql) took any non-space text after
-- the host, so https://münchen.de or https://example.com/"x" were stored, and a client
-- reading the document as a contract could not parse them.
--
-- The same pattern is validate::HTTPS_URI in functions/src/validate.rs (and the
-- document's `pattern`); tests/tests/api/direct_postgrest.rs runs one corpus through both.

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

-- Re-check the stored rows against the new rule (replacing the function alone would
-- apply it to new writes only). A row that breaks it makes this migration fail and
-- names the constraint: fix or clear those websites, then run it again.
alter table public.profiles
  drop constraint profiles_website_rule,
  add constraint profiles_website_rule check (website is null or private.is_https_url(website));
