/**
 * A typed client for the supa-lambda API.
 *
 * The types are generated from the API's own OpenAPI document (`openapi.json` at the
 * repository root, which `make routes` writes from the Rust handlers' types) by
 * openapi-typescript into `schema.d.ts`; requests go through openapi-fetch, so paths,
 * parameters, bodies and answers are all checked by the compiler.
 *
 *     const api = createApiClient({ baseUrl: "https://api.example.com" });
 *     const { data, error } = await api.GET("/projects", {
 *       params: { query: { workspaceId, page: 1, pageSize: 20 } },
 *     });
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** Every schema of the document by name: `Schema<"Project">`. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

/** The body of every error answer: `{ error: { code, message, requestId, details? } }`. */
export type ApiError = Schema<"Error">;
/** The codes an error can carry (`VALIDATION_ERROR`, `RATE_LIMITED`, ...). */
export type ErrorCode = Schema<"ErrorCode">;

export interface ApiClientOptions {
  /** The API's origin (and base path, if any), e.g. `https://api.example.com`. */
  baseUrl: string;
  /**
   * A Supabase access token for `Authorization: Bearer`, or a function that returns
   * the current one (e.g. from supabase-js's `getSession()`). Leave it out to rely on
   * the session cookie that `POST /auth/sign-in` sets (the browser sends it when the
   * app and the API are on the same site).
   */
  accessToken?: string | (() => string | undefined | Promise<string | undefined>);
  /** A `fetch` to use instead of the global one. */
  fetch?: (input: Request) => Promise<Response>;
}

export type ApiClient = Client<paths>;

/** A client whose every call is typed by the API's OpenAPI document. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    // The session cookie travels with every request to the API's origin.
    credentials: "include",
    fetch: options.fetch,
  });
  const { accessToken } = options;
  if (accessToken !== undefined) {
    const bearer: Middleware = {
      async onRequest({ request }) {
        const token = typeof accessToken === "function" ? await accessToken() : accessToken;
        if (token) request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    };
    client.use(bearer);
  }
  return client;
}

/**
 * The message to show for a field of a VALIDATION_ERROR (`details.fields`), if the API
 * named that field: `fieldError(error, "name")`.
 */
export function fieldError(error: ApiError | undefined, field: string): string | undefined {
  return error?.error.details?.fields?.[field]?.join("; ");
}

/** True when the error is the API refusing for too many requests; wait `retryAfter` s. */
export function isRateLimited(error: ApiError | undefined): boolean {
  return error?.error.code === "RATE_LIMITED";
}
