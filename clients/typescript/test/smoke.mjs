// The built client against a running API (`npm run smoke`; scripts/client.sh runs it in
// `make test` after schemathesis): API_URL and ACCESS_TOKEN (a signed-in user's token).
import assert from "node:assert/strict";

import { createApiClient, fieldError, isRateLimited } from "../dist/index.js";

const baseUrl = process.env.API_URL;
const token = process.env.ACCESS_TOKEN;
assert.ok(baseUrl && token, "set API_URL and ACCESS_TOKEN");

const api = createApiClient({ baseUrl, accessToken: async () => token });
const anonymous = createApiClient({ baseUrl });

const health = await anonymous.GET("/health");
assert.equal(health.response.status, 200);
assert.equal(health.data?.data.status, "ok");

const name = `Client smoke ${Date.now()}`;
const ws = await api.POST("/workspaces", { body: { name } });
assert.equal(ws.response.status, 201, JSON.stringify(ws.error));
assert.equal(ws.data.data.name, name);
assert.equal(ws.data.data.role, "admin");
const workspaceId = ws.data.data.id;

const created = await api.POST("/projects", {
  body: { name: "  Launch  ", description: "From the typed client", workspaceId },
});
assert.equal(created.response.status, 201, JSON.stringify(created.error));
assert.equal(created.data.data.name, "Launch", "stored trimmed");
const projectId = created.data.data.id;

// A retried create with the same Idempotency-Key gets the first answer back.
const key = crypto.randomUUID();
const keyed = { params: { header: { "Idempotency-Key": key } }, body: { name: "Once", workspaceId } };
const first = await api.POST("/projects", keyed);
const retried = await api.POST("/projects", keyed);
assert.equal(first.response.status, 201, JSON.stringify(first.error));
assert.equal(retried.response.status, 201, JSON.stringify(retried.error));
assert.equal(retried.data.data.id, first.data.data.id);
assert.equal(retried.response.headers.get("idempotent-replayed"), "true");
const reused = await api.POST("/projects", { ...keyed, body: { name: "Twice", workspaceId } });
assert.equal(reused.response.status, 422);
assert.equal(reused.error?.error.code, "IDEMPOTENCY_KEY_REUSED");
await api.DELETE("/projects/{id}", { params: { path: { id: first.data.data.id } } });

const got = await api.GET("/projects/{id}", { params: { path: { id: projectId } } });
assert.equal(got.data?.data.description, "From the typed client");

const page = await api.GET("/projects", { params: { query: { workspaceId, page: 1, pageSize: 1 } } });
assert.equal(page.data?.pagination.total, 1);
assert.equal(page.data?.data[0]?.id, projectId);

// A refusal comes back as the typed error envelope, with the field named.
const refused = await api.PATCH("/projects/{id}", {
  params: { path: { id: projectId } },
  body: { name: "x".repeat(101) },
});
assert.equal(refused.response.status, 422);
assert.equal(refused.error?.error.code, "VALIDATION_ERROR");
assert.match(fieldError(refused.error, "name") ?? "", /1 to 100 characters/);
assert.equal(isRateLimited(refused.error), false);

// Without a token: 401, with the envelope and WWW-Authenticate.
const unauthorized = await anonymous.GET("/projects");
assert.equal(unauthorized.response.status, 401);
assert.equal(unauthorized.error?.error.code, "UNAUTHORIZED");
assert.equal(unauthorized.response.headers.get("www-authenticate"), "Bearer");

const deleted = await api.DELETE("/projects/{id}", { params: { path: { id: projectId } } });
assert.equal(deleted.response.status, 204);
const gone = await api.GET("/projects/{id}", { params: { path: { id: projectId } } });
assert.equal(gone.response.status, 404);

console.log("client smoke: ok (health, create, idempotent retry, read, page, 422 with field, 401, delete, 404)");
