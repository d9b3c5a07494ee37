import type { CookieOptionsWithName } from "@supabase/ssr";

/**
 * The session cookie as the API writes it (shared/src/auth/cookies.rs): @supabase/ssr's
 * name and format, HttpOnly, SameSite=Lax, on COOKIE_DOMAIN when the app and the API are
 * on sibling hosts (app.example.com and api.example.com: COOKIE_DOMAIN=example.com, the
 * API's setting too). Secure unless COOKIE_SECURE=false (plain http on localhost).
 */
export function cookieOptions(): CookieOptionsWithName {
  return {
    path: "/",
    sameSite: "lax",
    httpOnly: true,
    secure: process.env.COOKIE_SECURE !== "false",
    ...(process.env.COOKIE_DOMAIN ? { domain: process.env.COOKIE_DOMAIN } : {}),
    ...(process.env.AUTH_COOKIE_NAME ? { name: process.env.AUTH_COOKIE_NAME } : {}),
  };
}
