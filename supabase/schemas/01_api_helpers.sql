-- Pieces every route function shares: pages, bounded counts, and answers PostgREST sends
-- as the API would (status, error code, headers).

-- A page the lists serve: 1 to 100 items from offset 0 on, else 22023 (the API's 422).
create or replace function private.check_page(p_limit integer, p_offset integer)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 1 or p_limit > 100 or p_offset is null or p_offset < 0 then
    raise exception 'bad page' using errcode = '22023';
  end if;
end;
$$;

revoke all on function private.check_page(integer, integer) from public;
grant execute on function private.check_page(integer, integer) to authenticated, service_role;

-- Counts stop here; beyond it `total` is the planner's estimate.
create or replace function private.exact_count_limit()
returns integer
language sql
immutable
as $$ select 1000 $$;

revoke all on function private.exact_count_limit() from public;
grant execute on function private.exact_count_limit() to authenticated, service_role;

-- Appends one header to the answer PostgREST sends (`response.headers`), keeping the
-- ones already set in this request (the request gate's RateLimit headers).
create or replace function private.add_response_header(p_name text, p_value text)
returns void
language sql
set search_path = ''
as $$
  select set_config('response.headers',
    (coalesce(nullif(current_setting('response.headers', true), '')::jsonb, '[]'::jsonb)
      || jsonb_build_array(jsonb_build_object(p_name, p_value)))::text, true);
$$;

-- Refuses the request with PostgREST's answer for it: status, the API's error code and
-- message (and details), and headers (`raise sqlstate 'PGRST'`, PostgREST 12).
create or replace function private.refuse(
  p_status integer,
  p_code text,
  p_message text,
  p_details text default null,
  p_headers json default '{}'
)
returns void
language plpgsql
set search_path = ''
as $$
begin
  raise sqlstate 'PGRST' using
    message = json_build_object('code', p_code, 'message', p_message,
                                'details', p_details, 'hint', null)::text,
    detail = json_build_object('status', p_status, 'headers', p_headers)::text;
end;
$$;

revoke all on function private.refuse(integer, text, text, text, json) from public;
revoke all on function private.add_response_header(text, text) from public;
