-- Issue 24: the text rules are defined once. Each text kind of functions/src/validate.rs
-- that a column stores (SQL_DOMAINS there) is a SQL domain, written by `make routes` into
-- supabase/schemas/02_text_types.sql: the kind's length in characters and the private.is_*
-- function of its rule. The columns of a kind become of its domain, and their own CHECKs
-- that restated the kind (its length, its rule) are dropped; the site name setting and
-- the sign-up trigger's name check cast to the domains instead of restating them. A
-- value a domain refuses fails with SQLSTATE 23514, as the table CHECKs did (PostgREST
-- answers 400, the API 422).
--
-- The domains are created without their checks, the columns changed to them, and the
-- checks added last: a column changed to a domain with a check is rewritten (its table and
-- indexes, profiles' trigram index among them), one changed to a domain without one is a
-- catalog change, and adding a domain's check reads each column once. The checks and
-- comments are the text of 02_text_types.sql.

-- ---------------------------------------------------------------------------------------
-- 1. The domains
-- ---------------------------------------------------------------------------------------

create domain public.short_name as text;
create domain public.full_name as text;
create domain public.title as text;
create domain public.post_body as text;
create domain public.description as text;
create domain public.website as text;
create domain public.upload_name as text;

-- ---------------------------------------------------------------------------------------
-- 2. The columns of each kind, without the CHECKs that restated it
-- ---------------------------------------------------------------------------------------

alter table public.workspaces
  drop constraint workspaces_name_check,
  drop constraint workspaces_name_rule,
  alter column name type public.short_name;

alter table public.projects
  drop constraint projects_name_check,
  drop constraint projects_name_rule,
  drop constraint projects_description_check,
  drop constraint projects_description_rule,
  alter column name type public.short_name,
  alter column description type public.description;

-- (body's default is set again after the change, as a value of the new type.)
alter table public.posts
  drop constraint posts_title_check,
  drop constraint posts_title_rule,
  drop constraint posts_body_check,
  drop constraint posts_body_rule,
  alter column title type public.title,
  alter column body drop default,
  alter column body type public.post_body,
  alter column body set default '';

-- (bio keeps its own: it stores the sanitizer's output, not the kind the API checks.)
alter table public.profiles
  drop constraint profiles_full_name_check,
  drop constraint profiles_full_name_rule,
  drop constraint profiles_website_check,
  drop constraint profiles_website_rule,
  alter column full_name type public.full_name,
  alter column website type public.website;

alter table public.uploads
  drop constraint uploads_original_name_check,
  drop constraint uploads_original_name_rule,
  alter column original_name type public.upload_name;

-- ---------------------------------------------------------------------------------------
-- 3. The domains' checks and comments (each reads the columns of its domain once)
-- ---------------------------------------------------------------------------------------

alter domain public.short_name
  add constraint short_name_check check (char_length(value) between 1 and 100 and private.is_plain_text(value));
comment on domain public.short_name is
  'validate::short_name (functions/src/validate.rs): 1 to 100 characters. Plain text: not blank, no control characters; leading and trailing whitespace is removed.';

alter domain public.full_name
  add constraint full_name_check check (char_length(value) between 1 and 100 and private.is_person_name(value));
comment on domain public.full_name is
  'validate::full_name (functions/src/validate.rs): 1 to 100 characters. Letters (any script), digits, spaces, - and ''; leading and trailing whitespace is removed.';

alter domain public.title
  add constraint title_check check (char_length(value) between 1 and 200 and private.is_plain_text(value));
comment on domain public.title is
  'validate::title (functions/src/validate.rs): 1 to 200 characters. Plain text: not blank, no control characters; leading and trailing whitespace is removed.';

alter domain public.post_body
  add constraint post_body_check check (char_length(value) <= 20000 and private.is_free_text(value));
comment on domain public.post_body is
  'validate::post_body (functions/src/validate.rs): at most 20000 characters. Free text: no control characters but line breaks and tabs.';

alter domain public.description
  add constraint description_check check (char_length(value) <= 1000 and private.is_free_text(value));
comment on domain public.description is
  'validate::description (functions/src/validate.rs): at most 1000 characters. Free text: no control characters but line breaks and tabs.';

alter domain public.website
  add constraint website_check check (char_length(value) <= 300 and private.is_https_url(value));
comment on domain public.website is
  'validate::website (functions/src/validate.rs): at most 300 characters. An https:// URI (RFC 3986: ASCII, a non-ASCII host in punycode, other characters percent-encoded) with a host and no user info.';

alter domain public.upload_name
  add constraint upload_name_check check (char_length(value) between 1 and 255 and private.is_file_name(value));
comment on domain public.upload_name is
  'validate::upload_name (functions/src/validate.rs): 1 to 255 characters. A plain file name: no path separators or control characters, not . or ..';

-- ---------------------------------------------------------------------------------------
-- 4. What checked a kind by hand: the site name setting, a name from sign-up metadata
-- ---------------------------------------------------------------------------------------

-- The site name is a short_name (a cast: a value the domain refuses fails with 23514).
alter table public.app_settings
  drop constraint app_settings_value_rule,
  add constraint app_settings_value_rule check (
    case key
      when 'site_name' then jsonb_typeof(value) = 'string'
        and (value #>> '{}')::public.short_name is not null
      when 'support_email' then jsonb_typeof(value) = 'string'
        and char_length(value #>> '{}') <= 254 and (value #>> '{}') ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$'
      when 'maintenance_mode' then jsonb_typeof(value) = 'boolean'
      when 'signups_enabled' then jsonb_typeof(value) = 'boolean'
      else true
    end
  );

-- A name from sign-up metadata is whatever the client sent Supabase Auth: trimmed and
-- cut to 100 characters, and kept only if it is a full_name (else null): the domain
-- decides, so a name it refuses never fails the sign-up.
create or replace function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_space text := E' \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
  v_name text := btrim(left(btrim(coalesce(new.raw_user_meta_data ->> 'full_name',
                                           new.raw_user_meta_data ->> 'name', ''), v_space), 100), v_space);
begin
  begin
    v_name := v_name::public.full_name;
  exception when check_violation then
    v_name := null;
  end;
  insert into public.profiles (id, full_name) values (new.id, v_name);
  insert into public.profile_emails (id, email) values (new.id, new.email);
  return new;
end;
$$;
