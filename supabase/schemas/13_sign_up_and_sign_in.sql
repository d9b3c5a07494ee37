-- Sign-up and sign-in as Supabase apps do them (issue 14): the switches that take
-- effect, the limits of the new routes, and one audit row per sign-in that also says
-- whether it was the user's first.
--
-- signupsEnabled is enforced by Supabase Auth itself, through its before-user-created
-- hook (supabase/config.toml [auth.hook.before_user_created]): while it is false, no new
-- user is created, whether the request comes from the API's POST /auth/sign-up, an email
-- link or an OAuth provider's first sign-in, or straight from a client to Supabase Auth.
-- The API checks the same switch first (auth_switches) to answer clearly without a
-- round trip to Auth.
-- (The limits are with the others, 10_rate_limits.sql.)

-- Supabase Auth calls this before it creates any user (sign-up, email OTP, OAuth, SSO).
-- Its answer: `{}` lets the user be created; `{"error": {"http_code", "message"}}` stops
-- it, and Auth answers that status and message. Run by supabase_auth_admin only.
create or replace function public.before_user_created_hook(event jsonb)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not private.site_switch('signups_enabled', true) then
    return jsonb_build_object('error', jsonb_build_object('http_code', 403, 'message', 'Sign-ups are closed'));
  end if;
  if private.site_switch('maintenance_mode', false) then
    return jsonb_build_object('error', jsonb_build_object('http_code', 503,
      'message', 'The service is down for maintenance; try again later'));
  end if;
  return '{}'::jsonb;
end;
$$;

revoke all on function public.before_user_created_hook(jsonb) from public, anon, authenticated, service_role;
grant execute on function public.before_user_created_hook(jsonb) to supabase_auth_admin;

-- One SIGN_IN audit row with the provider (email, github, google, ...), the method
-- (password, signup, magiclink, recovery, email_change, invite, oauth) and the client
-- address; true when this was the user's first sign-in (for onboarding). Service role.
create or replace function public.record_sign_in(
  p_user uuid,
  p_provider text,
  p_method text,
  p_ip text default null,
  p_user_agent text default null
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_first boolean;
begin
  if p_user is null or coalesce(p_provider, '') !~ '^[a-z0-9_]{1,32}$' or coalesce(p_method, '') !~ '^[a-z_]{1,32}$' then
    raise exception 'bad sign-in record' using errcode = '22023';
  end if;
  update public.profiles set first_signed_in_at = now()
  where id = p_user and first_signed_in_at is null;
  v_first := found;
  perform public.record_audit_event('SIGN_IN', p_user, null,
    jsonb_build_object('provider', p_provider, 'method', p_method, 'firstSignIn', v_first),
    p_ip, p_user_agent, false);
  return v_first;
end;
$$;

revoke all on function public.record_sign_in(uuid, text, text, text, text) from public, anon, authenticated;
grant execute on function public.record_sign_in(uuid, text, text, text, text) to service_role;

-- ---------------------------------------------------------------------------------------
-- Sign-in that cannot be turned against its user
-- ---------------------------------------------------------------------------------------

-- Sign-in that cannot be turned against its user (issue 22, parts 3 and 5).
--
-- 1. No pre-registered accounts. Anyone may sign up with someone else's address and a
--    password of their own; Supabase Auth keeps that password when the address's owner
--    later confirms the account (by the sign-up link, a magic link or a recovery link:
--    GoTrue's signup "does not update the user" it cannot be sure of, and its email
--    verification confirms without touching the password), and the pre-registrant then
--    signs in as the owner (OWASP's pre-account takeover). The rule here:
--
--      A password set while the address was unconfirmed survives its confirmation only
--      when that confirmation is completed in the browser that set it. Otherwise the
--      confirmation clears it, and the owner, now signed in, sets one.
--
--    The database enforces it for every way an account is confirmed (a trigger on
--    auth.users: email_confirmed_at going from null to a time), whoever confirms it:
--    the API, a supabase-js client calling Supabase Auth directly, an admin. What it
--    cannot see is the browser; the API tells it, through two service-role calls:
--      - bind_sign_up(email, password, flow) after POST /auth/sign-up: the unconfirmed
--        user of that address whose stored password IS the one this sign-up sent (bcrypt,
--        as GoTrue hashes it), bound to the sign-up's email-link flow (a hash of a secret
--        in that browser's cookie). A pre-registrant's password never matches the
--        owner's sign-up, so the owner's sign-up binds nothing of the pre-registrant's.
--      - prepare_email_confirmation(token_hash, flow) before the API verifies a sign-up
--        link: with the flow of the browser that opened it (only when its cookie
--        matched), marks the binding confirmed here; returns whether the confirmation
--        will clear a password (the app then offers to set one).
--    A password set in the same transaction as the confirmation (GoTrue's sign-up that
--    confirms at once, an invite accepted with a password) is the confirmer's own and
--    stays. OAuth sign-ins that link an unconfirmed account already drop its password
--    in GoTrue (RemoveUnconfirmedIdentities); the trigger agrees.
--
-- 2. The per-email sign-in limit counts atomically: the API reserves a failure before
--    it asks Supabase Auth (hit_subject_limit, one atomic upsert; refused at the limit)
--    and gives it back when the password was right (release_subject_hit), so parallel
--    wrong passwords cannot pass the limit between a check and a count.
--    (release_subject_hit is with the other limits, 10_rate_limits.sql.)

-- The sign-up whose password may survive confirmation: one per user, the latest that
-- proved its password. Gone with the user, and at the user's confirmation.
create table private.sign_up_bindings (
  user_id uuid primary key references auth.users (id) on delete cascade,
  -- base64url SHA-256 of the secret in the signing-up browser's email-link cookie.
  flow_hash text not null check (flow_hash ~ '^[A-Za-z0-9_-]{43}$'),
  -- The stored password hash at binding time: a password changed since is not kept.
  password_hash text not null,
  confirmed_in_browser_at timestamptz,
  created_at timestamptz not null default now(),
  constraint sign_up_bindings_password_hash_bounded check (char_length(password_hash) <= 255)
);

revoke all on table private.sign_up_bindings from public, anon, authenticated, service_role;

comment on table private.sign_up_bindings is
  'A sign-up (POST /auth/sign-up) whose password may survive the confirmation of its '
  'address, when the confirmation is completed in the same browser (the flow).';

-- The email-link flow of a browser: 43 base64url characters (a SHA-256).
create or replace function private.is_flow(p_flow text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select coalesce(p_flow ~ '^[A-Za-z0-9_-]{43}$', false);
$$;

-- POST /auth/sign-up, after Supabase Auth created (or kept) the unconfirmed user: binds
-- the user to the sign-up's flow when the password Supabase Auth stored is the one sent.
-- Answers nothing (the API's answer is the same for every address).
create or replace function public.bind_sign_up(p_email text, p_password text, p_flow text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user auth.users;
begin
  if not private.is_flow(p_flow) or coalesce(p_email, '') = '' or char_length(p_email) > 254
     or coalesce(p_password, '') = '' or octet_length(p_password) > 72 then
    raise exception 'bad binding arguments' using errcode = '22023';
  end if;
  select * into v_user from auth.users u
  where lower(u.email) = lower(p_email) and u.email_confirmed_at is null
    and u.encrypted_password like '$2%'
  order by u.created_at
  limit 1;
  if v_user.id is not null
     and v_user.encrypted_password = extensions.crypt(p_password, v_user.encrypted_password) then
    insert into private.sign_up_bindings (user_id, flow_hash, password_hash)
    values (v_user.id, p_flow, v_user.encrypted_password)
    on conflict (user_id) do update
      set flow_hash = excluded.flow_hash, password_hash = excluded.password_hash,
          confirmed_in_browser_at = null, created_at = now();
  end if;
end;
$$;

-- Before the API verifies an email link: the user the link confirms (its token hash, as
-- GoTrue keeps it in auth.users), and with the opening browser's flow (`null` when its
-- cookie did not match) the binding marked as confirmed in that browser. True when the
-- confirmation will clear a password set before it.
create or replace function public.prepare_email_confirmation(p_token_hash text, p_flow text default null)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user auth.users;
  v_kept boolean := false;
begin
  if coalesce(p_token_hash, '') = '' or char_length(p_token_hash) > 256
     or (p_flow is not null and not private.is_flow(p_flow)) then
    raise exception 'bad confirmation arguments' using errcode = '22023';
  end if;
  select * into v_user from auth.users u
  where u.confirmation_token = p_token_hash and u.email_confirmed_at is null
  limit 1;
  if v_user.id is null or coalesce(v_user.encrypted_password, '') = '' then
    return false;
  end if;
  if p_flow is not null then
    update private.sign_up_bindings b
    set confirmed_in_browser_at = now()
    where b.user_id = v_user.id and b.flow_hash = p_flow
      and b.password_hash = v_user.encrypted_password
      and b.created_at > now() - interval '1 day';
    v_kept := found;
  end if;
  return not v_kept;
end;
$$;

revoke all on function public.bind_sign_up(text, text, text),
  public.prepare_email_confirmation(text, text) from public, anon, authenticated;
grant execute on function public.bind_sign_up(text, text, text),
  public.prepare_email_confirmation(text, text) to service_role;
revoke all on function private.is_flow(text) from public;

-- The trigger: a password set while unconfirmed is noted for the transaction that set it
-- (transaction-local, so a pooled connection forgets it); at confirmation, a password
-- from before this statement and this transaction is cleared unless the binding says the
-- browser that set it confirmed. Audited as PASSWORD_CLEARED.
create or replace function private.confirmation_keeps_only_own_password()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kept boolean;
begin
  if new.email_confirmed_at is null and coalesce(new.encrypted_password, '') <> ''
     and (tg_op = 'INSERT' or new.encrypted_password is distinct from old.encrypted_password) then
    perform set_config('private.password_set_for', new.id::text, true);
  end if;
  if tg_op = 'UPDATE' and old.email_confirmed_at is null and new.email_confirmed_at is not null then
    -- A password from before this statement and before this transaction.
    if coalesce(new.encrypted_password, '') <> ''
       and new.encrypted_password is not distinct from old.encrypted_password
       and current_setting('private.password_set_for', true) is distinct from new.id::text then
      select exists (
        select 1 from private.sign_up_bindings b
        where b.user_id = new.id and b.password_hash = new.encrypted_password
          and b.confirmed_in_browser_at > now() - interval '15 minutes'
      ) into v_kept;
      if not v_kept then
        new.encrypted_password := null;
        perform public.record_audit_event('PASSWORD_CLEARED', new.id, 'user',
          jsonb_build_object('reason', 'set before the address was confirmed, confirmed elsewhere'));
      end if;
    end if;
    delete from private.sign_up_bindings b where b.user_id = new.id;
  end if;
  return new;
end;
$$;

revoke all on function private.confirmation_keeps_only_own_password() from public;

create trigger confirmation_keeps_only_own_password
  before insert or update on auth.users
  for each row execute function private.confirmation_keeps_only_own_password();
