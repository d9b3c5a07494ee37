import "server-only";

import { createServerClient } from "@supabase/ssr";
import { cookies } from "next/headers";

import { supabasePublishableKey, supabaseUrl } from "@/lib/settings";

import { cookieOptions } from "./cookies";

/**
 * Supabase on the server (server components, server actions, route handlers), reading the
 * session from the request's cookies. The proxy has already refreshed it; a server
 * component cannot write cookies, so a write here is only kept from actions and handlers.
 */
export async function createClient() {
  const store = await cookies();
  return createServerClient(supabaseUrl(), supabasePublishableKey(), {
    cookieOptions: cookieOptions(),
    cookies: {
      getAll: () => store.getAll(),
      setAll(cookiesToSet) {
        try {
          for (const { name, value, options } of cookiesToSet) store.set(name, value, options);
        } catch {
          // A server component: the proxy writes the refreshed session instead.
        }
      },
    },
  });
}
