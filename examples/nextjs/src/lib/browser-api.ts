import { createApiClient } from "@supa-lambda/client";

import { PUBLIC_API_URL } from "@/lib/settings";

/**
 * The typed client in the browser, for what only the browser may do: the session's own
 * ceremonies (sign-in, email links, the confirmation step, sign-out), whose answers set
 * or clear the session cookie on the site. No token: the cookie goes with the request.
 */
export const browserApi = createApiClient({ baseUrl: PUBLIC_API_URL });
