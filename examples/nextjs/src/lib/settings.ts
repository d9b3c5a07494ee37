// Where the app finds the API and Supabase. Server code reads these at request time; the
// NEXT_PUBLIC_ ones are also written into the browser's code by `next build`.

/** The API as the browser calls it: on the app's site (same registrable domain), so the
 * session cookie its /auth/ routes set is the one this app reads. */
export const PUBLIC_API_URL = process.env.NEXT_PUBLIC_API_URL ?? "http://localhost:9000";

function serverSetting(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (!value) throw new Error(`${name} is not set (see docs/nextjs-app.md)`);
  return value;
}

/** The API as this server calls it (server components, actions, route handlers). */
export const apiUrl = () => serverSetting("API_URL", PUBLIC_API_URL);
/** The API's stream: a route locally, its own Function URL on AWS (template.yaml's StreamUrl). */
export const streamUrl = () => serverSetting("STREAM_URL", `${apiUrl()}/stream`);
/** The Supabase project (its Auth refreshes the session in the proxy). */
export const supabaseUrl = () => serverSetting("SUPABASE_URL");
/** Today's publishable key (`sb_publishable_...`), or the legacy anon key. Never the secret key. */
export const supabasePublishableKey = () => {
  const key = serverSetting("SUPABASE_PUBLISHABLE_KEY", process.env.SUPABASE_ANON_KEY);
  if (key.startsWith("sb_secret_")) throw new Error("SUPABASE_PUBLISHABLE_KEY holds a secret key");
  return key;
};
