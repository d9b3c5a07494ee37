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

-- ---------------------------------------------------------------------------------------
-- 1. Limits
-- ---------------------------------------------------------------------------------------
insert into public.rate_limit_rules (rule, max_hits, window_seconds, key_kind, description) values
  ('sign-up:ip', 10, 3600, 'ip', 'sign-ups per client address'),
  ('magic-link:ip', 20, 300, 'ip', 'email links asked for per client address'),
  ('magic-link:email', 3, 300, 'email', 'email links asked for per email address');

-- ---------------------------------------------------------------------------------------
-- 2. The switches
-- ---------------------------------------------------------------------------------------

-- One counted hit on an address- or email-keyed rule, with the site's two switches, in
-- one call (service role): what an auth route needs before it calls Supabase Auth.
create or replace function public.hit_auth_limit(p_rule text, p_subject text)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select public.hit_subject_limit(p_rule, p_subject) || jsonb_build_object(
    'signupsEnabled', private.site_switch('signups_enabled', true),
    'maintenanceMode', private.site_switch('maintenance_mode', false));
$$;

revoke all on function public.hit_auth_limit(text, text) from public, anon, authenticated;
grant execute on function public.hit_auth_limit(text, text) to service_role;

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

-- ---------------------------------------------------------------------------------------
-- 3. Sign-ins
-- ---------------------------------------------------------------------------------------

-- When the user first signed in through the API (null: never). Not writable by users
-- (profiles' update grant names its columns).
alter table public.profiles add column first_signed_in_at timestamptz;
-- Users from before this migration are not new.
update public.profiles set first_signed_in_at = created_at where first_signed_in_at is null;

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
