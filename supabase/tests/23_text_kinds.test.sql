-- The text kinds as SQL domains (migration 20261209000000, supabase/schemas/02_text_types.sql,
-- written by `make routes` from functions/src/validate.rs): each column of a kind is of
-- its domain and restates nothing of it; each domain takes its kind's longest value
-- (counted in characters) and refuses one character more, blank text and control
-- characters, with SQLSTATE 23514; the site name setting and names from sign-up metadata
-- follow the domains too.
begin;
set search_path = extensions, public;
select plan(72);

-- The domains and the columns ---------------------------------------------------------

select domain_type_is('public', d, 'text', format('public.%s is a domain over text', d))
from unnest(array['short_name', 'full_name', 'title', 'post_body', 'description', 'website',
                  'upload_name']) d;

select col_type_is('public', t, c, 'public', d, format('%s.%s is a %s', t, c, d))
from (values ('workspaces', 'name', 'short_name'),
             ('projects', 'name', 'short_name'),
             ('projects', 'description', 'description'),
             ('posts', 'title', 'title'),
             ('posts', 'body', 'post_body'),
             ('profiles', 'full_name', 'full_name'),
             ('profiles', 'website', 'website'),
             ('uploads', 'original_name', 'upload_name')) x(t, c, d);

select is_empty(
  $$ select n.conrelid::regclass::text, n.conname from pg_catalog.pg_constraint n
     join pg_catalog.pg_attribute a on a.attrelid = n.conrelid and a.attnum = any (n.conkey)
     where n.contype = 'c'
       and (n.conrelid, a.attname) in (('public.workspaces'::regclass, 'name'),
                                       ('public.projects'::regclass, 'name'),
                                       ('public.projects'::regclass, 'description'),
                                       ('public.posts'::regclass, 'title'),
                                       ('public.posts'::regclass, 'body'),
                                       ('public.profiles'::regclass, 'full_name'),
                                       ('public.profiles'::regclass, 'website'),
                                       ('public.uploads'::regclass, 'original_name')) $$,
  'no table CHECK restates a kind: the columns of the kinds have none of their own'
);

select is(
  (select count(*)::integer from pg_catalog.pg_type t
   where t.typnamespace = 'public'::regnamespace and t.typtype = 'd'
     and t.typname in ('short_name', 'full_name', 'title', 'post_body', 'description', 'website', 'upload_name')
     and pg_catalog.obj_description(t.oid, 'pg_type') like 'validate::' || t.typname || ' (functions/src/validate.rs): %'),
  7,
  'each domain''s comment names its kind'
);

-- What each domain takes: its kind's longest value in characters (not bytes) ----------

select lives_ok(format('select %L::public.%I', v, d), format('%s takes %s', d, what))
from (values
  ('short_name', repeat('é', 100), '100 characters (200 bytes)'),
  ('short_name', 'Acme Inc.', 'a name'),
  ('full_name', repeat('é', 100), '100 characters'),
  ('full_name', 'Anne-Marie O''Neil 2', 'letters, digits, spaces, - and '''),
  ('title', repeat('é', 200), '200 characters'),
  ('post_body', repeat('é', 20000), '20000 characters'),
  ('post_body', '', 'an empty body'),
  ('post_body', E'line\nbreak\ttab\r\n', 'line breaks and tabs'),
  ('description', repeat('é', 1000), '1000 characters'),
  ('description', '', 'an empty description'),
  ('website', 'https://example.com/' || repeat('a', 280), '300 characters'),
  ('upload_name', repeat('é', 255), '255 characters'),
  ('upload_name', 'photo (1).png', 'a file name')
) x(d, v, what);

-- What each domain refuses: one character more, blank text, control characters -------

select throws_ok(format('select %L::public.%I', v, d), '23514', null, format('%s refuses %s', d, what))
from (values
  ('short_name', repeat('x', 101), '101 characters'),
  ('short_name', '', 'an empty name'),
  ('short_name', ' ', 'a blank name'),
  ('short_name', ' padded', 'leading whitespace'),
  ('short_name', 'a' || chr(7) || 'b', 'a control character'),
  ('short_name', E'two\nlines', 'a line break'),
  ('full_name', repeat('x', 101), '101 characters'),
  ('full_name', '', 'an empty name'),
  ('full_name', 'a;b', 'punctuation'),
  ('full_name', E'a\tb', 'a tab'),
  ('title', repeat('x', 201), '201 characters'),
  ('title', '', 'an empty title'),
  ('title', chr(12288) || 'ideographic', 'leading ideographic space'),
  ('title', 'esc' || chr(27), 'an escape character'),
  ('post_body', repeat('x', 20001), '20001 characters'),
  ('post_body', 'bell' || chr(7), 'a control character'),
  ('post_body', 'c1' || chr(133), 'a C1 control character'),
  ('description', repeat('x', 1001), '1001 characters'),
  ('description', 'del' || chr(127), 'DEL'),
  ('website', 'https://example.com/' || repeat('a', 281), '301 characters'),
  ('website', '', 'an empty website'),
  ('website', 'http://example.com', 'http'),
  ('website', 'https://user@example.com', 'user info'),
  ('website', E'https://example.com/\n', 'a line break'),
  ('upload_name', repeat('x', 256), '256 characters'),
  ('upload_name', '', 'an empty name'),
  ('upload_name', '..', '..'),
  ('upload_name', 'a/b', 'a path separator'),
  ('upload_name', 'a' || chr(1), 'a control character')
) x(d, v, what);

select ok(null::public.short_name is null and null::public.website is null,
  'null is no value of a kind: nullable columns stay nullable');

-- The tables refuse through their domains ----------------------------------------------

select throws_ok($$ insert into public.workspaces (name) values (repeat('x', 101)) $$,
  '23514', null, 'a workspace of a 101-character name is refused');
select throws_ok($$ insert into public.workspaces (name) values ('') $$,
  '23514', null, 'a workspace of an empty name is refused');
select throws_ok($$ insert into public.workspaces (name) values (' padded ') $$,
  '23514', null, 'a workspace of an untrimmed name is refused');
select lives_ok($$ insert into public.workspaces (id, name) values ('17000000-0000-4000-8000-0000000000a1', repeat('é', 100)) $$,
  'a workspace of a 100-character name is kept');
select throws_ok($$ insert into public.projects (workspace_id, name, description)
                    values ('17000000-0000-4000-8000-0000000000a1', 'p', repeat('x', 1001)) $$,
  '23514', null, 'a project of a 1001-character description is refused');
select throws_ok($$ update public.workspaces set name = 'a' || chr(159) where id = '17000000-0000-4000-8000-0000000000a1' $$,
  '23514', null, 'an update to a control character is refused');

-- The site name is a short_name --------------------------------------------------------

select throws_ok($$ update public.app_settings set value = to_jsonb(repeat('x', 101)) where key = 'site_name' $$,
  '23514', null, 'a 101-character site name is refused');
select throws_ok($$ update public.app_settings set value = '" padded "' where key = 'site_name' $$,
  '23514', null, 'an untrimmed site name is refused');
select throws_ok($$ update public.app_settings set value = '"a\u0007b"' where key = 'site_name' $$,
  '23514', null, 'a site name with a control character is refused');
select throws_ok($$ update public.app_settings set value = '42' where key = 'site_name' $$,
  '23514', null, 'a site name that is no string is refused');
select lives_ok($$ update public.app_settings set value = to_jsonb(repeat('é', 100)) where key = 'site_name' $$,
  'a 100-character site name is kept');

-- Names from sign-up metadata: cut to the kind's length, kept if they are a full_name --

insert into auth.users (id, email, raw_user_meta_data) values
  ('17000000-0000-4000-8000-000000000001', 'long.17@example.test', jsonb_build_object('full_name', repeat('é', 150))),
  ('17000000-0000-4000-8000-000000000002', 'semi.17@example.test', '{"full_name": "a;b"}'),
  ('17000000-0000-4000-8000-000000000003', 'none.17@example.test', '{}');
select results_eq(
  $$ select right(id::text, 1), full_name::text from public.profiles
     where id::text like '17000000-%' order by id $$,
  $$ values ('1', repeat('é', 100)), ('2', null), ('3', null) $$,
  'a long sign-up name is cut to 100 characters; one the domain refuses (or none) is null, and the sign-up goes on'
);

select * from finish();
rollback;
