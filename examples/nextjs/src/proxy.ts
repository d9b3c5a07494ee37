import { createServerClient } from "@supabase/ssr";
import { NextResponse, type NextRequest } from "next/server";

import { contentSecurityPolicy } from "@/lib/csp";
import { supabasePublishableKey, supabaseUrl } from "@/lib/settings";
import { cookieOptions } from "@/lib/supabase/cookies";

/** Pages anyone may see; every other page needs a session. Route handlers (/api/) answer
 * for themselves: the API's own 401 rather than a redirect to a page. */
const PUBLIC_PATHS = ["/sign-in"];
const isPublic = (pathname: string) => PUBLIC_PATHS.includes(pathname) || pathname.startsWith("/api/");

/**
 * Runs before every page: sets the Content-Security-Policy with a nonce of its own
 * (src/lib/csp.ts), refreshes the session in the @supabase/ssr cookie (the API's
 * /auth/ routes set it; an expired access token is renewed with the refresh token here,
 * and the new cookie goes both to the page being rendered and back to the browser), then
 * sends visitors without a session to the sign-in page. This is a first gate for the
 * user's sake; the protected layout asks the API, which decides.
 */
export async function proxy(request: NextRequest) {
  // A new nonce for every page: Next reads it from the request's policy and puts it on
  // its scripts; the browser gets the same policy.
  const csp = contentSecurityPolicy(Buffer.from(crypto.randomUUID()).toString("base64"));
  const forward = () => {
    const headers = new Headers(request.headers);
    headers.set("content-security-policy", csp);
    return NextResponse.next({ request: { headers } });
  };
  let response = forward();
  const supabase = createServerClient(supabaseUrl(), supabasePublishableKey(), {
    cookieOptions: cookieOptions(),
    cookies: {
      getAll: () => request.cookies.getAll(),
      setAll(cookiesToSet, headers) {
        for (const { name, value } of cookiesToSet) request.cookies.set(name, value);
        response = forward();
        for (const { name, value, options } of cookiesToSet) response.cookies.set(name, value, options);
        for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      },
    },
  });

  // Verifies the access token (the project's JWKS; an Auth call for HS256 tokens) and
  // refreshes it first when it has expired. Nothing may run between creating the client
  // and this call, or a refresh could be lost.
  const { data } = await supabase.auth.getClaims();
  const signedIn = Boolean(data?.claims);

  const { pathname, search } = request.nextUrl;
  if (!signedIn && !isPublic(pathname)) {
    const to = request.nextUrl.clone();
    to.pathname = "/sign-in";
    to.search = `?next=${encodeURIComponent(pathname + search)}`;
    const redirect = NextResponse.redirect(to);
    // A session that could not be refreshed is cleared on the way.
    for (const cookie of response.cookies.getAll()) redirect.cookies.set(cookie);
    return redirect;
  }
  response.headers.set("content-security-policy", csp);
  return response;
}

export const config = {
  // Every page and route handler, not Next's own files.
  matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"],
};
