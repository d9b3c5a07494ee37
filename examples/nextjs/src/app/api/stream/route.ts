import { accessToken } from "@/lib/api";
import { streamUrl } from "@/lib/settings";

/**
 * The API's server-sent events, as the signed-in user: a route handler that opens the
 * API's /stream with the session's access token and passes the events through as they
 * come (EventSource cannot send a header; here the browser needs no cookie for the API's
 * origin). The browser hanging up ends the upstream request too.
 */
export async function GET(request: Request) {
  const token = await accessToken();
  const query = new URL(request.url).searchParams.toString();
  const upstream = await fetch(`${streamUrl()}${query ? `?${query}` : ""}`, {
    headers: { accept: "text/event-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: request.signal,
    cache: "no-store",
  }).catch(() => null);
  if (!upstream) {
    return Response.json(
      { error: { code: "SERVICE_UNAVAILABLE", message: "The API cannot be reached", requestId: "" } },
      { status: 503 },
    );
  }
  return new Response(upstream.body, {
    status: upstream.status,
    headers: {
      "content-type": upstream.headers.get("content-type") ?? "text/event-stream",
      "cache-control": "no-store",
    },
  });
}
