import "server-only";

import { createApiClient, type ApiClient, type ApiError } from "@supa-lambda/client";
import { redirect } from "next/navigation";
import { cache } from "react";

import { apiUrl } from "@/lib/settings";
import { createClient } from "@/lib/supabase/server";

/** The signed-in user's access token, from the session cookie (refreshed by the proxy);
 * read once per render, however many server components ask (React's `cache`). */
export const accessToken = cache(async (): Promise<string | undefined> => {
  const supabase = await createClient();
  // Only the token is used, and the API verifies it (signature, expiry, a live session)
  // on every request: nothing here trusts the cookie's copy of the user.
  const { data } = await supabase.auth.getSession();
  return data.session?.access_token;
});

/** The typed client, calling the API as the signed-in user (`Authorization: Bearer`). */
export async function serverApi(): Promise<ApiClient> {
  return createApiClient({ baseUrl: apiUrl(), accessToken: await accessToken() });
}

/**
 * What a server component reads: the answer's body, or, when the API refused the session
 * (401: none, expired, or ended elsewhere), the sign-in page. Any other failure is the
 * page's error boundary. (The protected layout and its page render at once, so each
 * reads this way.)
 */
export function read<T>(res: { data?: T; error?: ApiError; response: Response }): T {
  if (res.response.status === 401) redirect("/sign-in");
  if (res.data === undefined) throw new Error(res.error?.error.message ?? "The API did not answer");
  return res.data;
}
