-- No pre-registered accounts (migration 20261207000100): a password set while an address
-- was unconfirmed survives the confirmation only when the browser that set it confirms
-- (bind_sign_up, then prepare_email_confirmation with its flow); any other confirmation
-- clears it, audited. Passwords set by the confirming statement or transaction stay.
-- And release_subject_hit gives back a reserved sign-in failure.
--
-- pgTAP runs the file in one transaction: `pg_temp.next_transaction()` forgets what the
-- trigger noted for the transaction so far, as a new transaction of GoTrue's would.
begin;
set search_path = extensions, public;
select plan(19);

create function pg_temp.next_transaction() returns void language sql as $$
  select set_config('private.password_set_for', '', true);
$$;

-- A user as Supabase Auth's sign-up writes one: unconfirmed, a bcrypt password, a
-- confirmation token hash.
create function pg_temp.signed_up(p_id uuid, p_email text, p_password text, p_token text) returns void
language sql as $$
  insert into auth.users (id, email, encrypted_password, confirmation_token, confirmation_sent_at)
  values (p_id, p_email, extensions.crypt(p_password, extensions.gen_salt('bf', 4)), p_token, now());
$$;

create function pg_temp.confirm(p_id uuid) returns void language sql as $$
  update auth.users set email_confirmed_at = now(), confirmation_token = '' where id = p_id;
$$;

create function pg_temp.has_password(p_id uuid) returns boolean language sql as $$
  select coalesce(encrypted_password, '') <> '' from auth.users where id = p_id;
$$;

-- Flows: base64url SHA-256 of a browser's secret (43 characters).
select set_config('test.flow_a', rpad('attackerflow', 43, 'A'), true);
select set_config('test.flow_v', rpad('victimsflow', 43, 'V'), true);

-- 1. Pre-registration, confirmed by the owner (their link, opened anywhere): cleared.
select pg_temp.signed_up('17000000-0000-4000-8000-00000000000a', 'victim.17@example.test', 'attackers-password', 'token-a');
set local role service_role;
select lives_ok($$ select public.bind_sign_up('victim.17@example.test', 'attackers-password', current_setting('test.flow_a')) $$,
  'the pre-registrant''s own sign-up binds (their password, their browser)');
reset role;
select pg_temp.next_transaction();
set local role service_role;
select is(public.prepare_email_confirmation('token-a', current_setting('test.flow_v')), true,
  'opened in the owner''s browser (another flow): the confirmation will clear the password');
reset role;
select pg_temp.confirm('17000000-0000-4000-8000-00000000000a');
select is(pg_temp.has_password('17000000-0000-4000-8000-00000000000a'), false,
  'the owner''s confirmation cleared the pre-registrant''s password');
select is((select count(*)::int from public.audit_log
           where action = 'PASSWORD_CLEARED' and actor_id = '17000000-0000-4000-8000-00000000000a'), 1,
  'audited as PASSWORD_CLEARED');
select is_empty($$ select 1 from private.sign_up_bindings where user_id = '17000000-0000-4000-8000-00000000000a' $$,
  'the binding is gone with the confirmation');

-- 2. The owner signs up after the pre-registrant: Supabase Auth keeps the first password,
--    so the owner's sign-up binds nothing, and even their own browser's confirmation clears it.
select pg_temp.next_transaction();
select pg_temp.signed_up('17000000-0000-4000-8000-00000000000b', 'victim2.17@example.test', 'attackers-password', 'token-b');
select pg_temp.next_transaction();
set local role service_role;
select public.bind_sign_up('victim2.17@example.test', 'owners-own-password', current_setting('test.flow_v'));
reset role;
select is_empty($$ select 1 from private.sign_up_bindings where user_id = '17000000-0000-4000-8000-00000000000b' $$,
  'a sign-up whose password is not the stored one binds nothing');
set local role service_role;
select is(public.prepare_email_confirmation('token-b', current_setting('test.flow_v')), true,
  'so the confirmation in the owner''s browser will clear the stored password');
reset role;
select pg_temp.confirm('17000000-0000-4000-8000-00000000000b');
select is(pg_temp.has_password('17000000-0000-4000-8000-00000000000b'), false,
  'and it does: the pre-registrant''s password is gone');

-- 3. The normal sign-up, confirmed in the browser that signed up: the password stays.
select pg_temp.next_transaction();
select pg_temp.signed_up('17000000-0000-4000-8000-00000000000c', 'normal.17@example.test', 'my-own-password', 'token-c');
select pg_temp.next_transaction();
set local role service_role;
select public.bind_sign_up('Normal.17@Example.test', 'my-own-password', current_setting('test.flow_v'));
select is(public.prepare_email_confirmation('token-c', current_setting('test.flow_v')), false,
  'the signing-up browser''s confirmation keeps the password');
reset role;
select pg_temp.confirm('17000000-0000-4000-8000-00000000000c');
select is(pg_temp.has_password('17000000-0000-4000-8000-00000000000c'), true,
  'the password survived its own browser''s confirmation');
select ok((select encrypted_password = extensions.crypt('my-own-password', encrypted_password)
           from auth.users where id = '17000000-0000-4000-8000-00000000000c'),
  'unchanged');

-- 4. The same sign-up confirmed from another device (no flow): cleared, and said so.
select pg_temp.next_transaction();
select pg_temp.signed_up('17000000-0000-4000-8000-00000000000d', 'phone.17@example.test', 'my-own-password', 'token-d');
select pg_temp.next_transaction();
set local role service_role;
select public.bind_sign_up('phone.17@example.test', 'my-own-password', current_setting('test.flow_v'));
select is(public.prepare_email_confirmation('token-d', null), true,
  'a confirmation on another device will clear the password');
reset role;
select pg_temp.confirm('17000000-0000-4000-8000-00000000000d');
select is(pg_temp.has_password('17000000-0000-4000-8000-00000000000d'), false, 'and does');

-- 5. A password set with the confirmation itself is the confirmer's: kept.
select pg_temp.next_transaction();
insert into auth.users (id, email, encrypted_password, email_confirmed_at)
values ('17000000-0000-4000-8000-00000000000e', 'autoconfirm.17@example.test', null, null);
select pg_temp.next_transaction();
update auth.users set encrypted_password = extensions.crypt('set-and-confirmed', extensions.gen_salt('bf', 4)),
                      email_confirmed_at = now()
where id = '17000000-0000-4000-8000-00000000000e';
select is(pg_temp.has_password('17000000-0000-4000-8000-00000000000e'), true,
  'a password set by the confirming statement stays');
select pg_temp.next_transaction();
select pg_temp.signed_up('17000000-0000-4000-8000-00000000000f', 'sametx.17@example.test', 'signed-up-and-confirmed', 'token-f');
select pg_temp.confirm('17000000-0000-4000-8000-00000000000f');
select is(pg_temp.has_password('17000000-0000-4000-8000-00000000000f'), true,
  'a password set earlier in the confirming transaction stays (GoTrue''s sign-up that confirms at once)');

-- 6. Only the service role binds and prepares.
set local role authenticated;
select throws_ok($$ select public.bind_sign_up('x@example.test', 'password', rpad('f', 43, 'f')) $$, '42501', null,
  'a user cannot bind a sign-up');
select throws_ok($$ select public.prepare_email_confirmation('token-c', null) $$, '42501', null,
  'a user cannot prepare a confirmation');
reset role;
set local role anon;
select throws_ok($$ select public.bind_sign_up('x@example.test', 'password', rpad('f', 43, 'f')) $$, '42501', null,
  'anon cannot bind a sign-up');
reset role;

-- 7. A reserved sign-in failure given back.
set local role service_role;
select public.hit_subject_limit('sign-in:email', 'subject-17');
select public.hit_subject_limit('sign-in:email', 'subject-17');
select public.release_subject_hit('sign-in:email', 'subject-17');
reset role;
select is((select hits from private.rate_limit_counters where key = 'email:sign-in:email:subject-17'), 1,
  'release_subject_hit gives back one hit of the current window');

select * from finish();
rollback;
