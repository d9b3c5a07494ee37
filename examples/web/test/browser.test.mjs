// The example app in a real browser: Debian's Chromium driven by playwright-core, against
// the local stack of `make test` (scripts/browser.sh starts it and passes its addresses).
// The app is served from http://localhost:APP_PORT and the API is http://localhost:API
// (one site: the session cookie is sent); the attacker's pages are served from
// http://127.0.0.1:<port>, another site. Every step saves a screenshot when it fails
// (BROWSER_SCREENSHOTS, default .local/browser/).
//
// Needs: BROWSER_API_URL, APP_PORT, S3_ROOT, UPLOADS_BUCKET, TEST_DATABASE_URL,
// SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (the Auth stand-in and its mailbox), and
// supabase/seed.sql loaded (bob@example.com, password123, editor). APP_SCREENSHOT=<file>
// also saves the picture of the app in docs/example-app.md.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { extname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { CHROMIUM, GIF, newestLink, objectsOf, png, sql } from "../../test-support/browser.mjs";

const API = process.env.BROWSER_API_URL;
const APP_PORT = Number(process.env.APP_PORT);
const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
const SHOTS = process.env.BROWSER_SCREENSHOTS ?? fileURLToPath(new URL("../../../.local/browser/", import.meta.url));
const DB = process.env.TEST_DATABASE_URL;
const AUTH = process.env.SUPABASE_URL;
const SERVICE_KEY = process.env.SUPABASE_SERVICE_ROLE_KEY;
assert.ok(
  API && (APP_PORT || process.env.APP_URL) && DB && process.env.S3_ROOT && process.env.UPLOADS_BUCKET && AUTH && SERVICE_KEY,
  "see the header for the environment",
);
// APP_URL: an app already served (make dev's Vite server) instead of the built one.
const APP = process.env.APP_URL ?? `http://localhost:${APP_PORT}`;

// --- Servers: the built app on the allowed origin, the attacker's pages on another site --

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

function listen(server, port) {
  return new Promise((resolve) => server.listen({ port, host: "127.0.0.1" }, () => resolve(server.address().port)));
}

const app = http.createServer((req, res) => {
  const path = new URL(req.url, APP).pathname;
  const file = join(DIST, path === "/" ? "index.html" : path);
  if (!file.startsWith(DIST) || !existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  res.end(readFileSync(file));
});

const attackPages = {
  // A script on another site POSTs JSON with the victim's cookie: the preflight is refused.
  "/post-fetch.html": `<script>
    fetch(${JSON.stringify(API)} + "/workspaces", {
      method: "POST", credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "evil-fetch" }),
    }).then((r) => { document.title = "answered " + r.status; })
      .catch(() => { document.title = "refused"; });
  </script>`,
  // A plain form needs no preflight; the SameSite=Lax cookie is not sent cross-site.
  "/post-form.html": `<form id="f" method="POST" enctype="text/plain" action=${JSON.stringify(API + "/workspaces")}>
    <input name='{"name":"evil-form","x":"' value='"}'></form><script>document.getElementById("f").submit();</script>`,
  // Login CSRF: a page of the attacker's leads the browser to an email link of the
  // attacker's own (a cross-site top-level navigation, in the query as `to`).
  "/navigate.html": `<script>location.href = new URLSearchParams(location.search).get("to");</script>`,
  // A script on a disallowed origin reads the API: no CORS headers, so the browser hides it.
  "/read.html": `<script>
    fetch(${JSON.stringify(API)} + "/health")
      .then((r) => r.json()).then(() => { document.title = "read"; })
      .catch(() => { document.title = "refused"; });
  </script>`,
};
const evil = http.createServer((req, res) => {
  const page = attackPages[new URL(req.url, "http://x").pathname];
  res.writeHead(page ? 200 : 404, { "content-type": "text/html" }).end(page ?? "");
});

// --- The browser -----------------------------------------------------------------------

let browser;
let context;
let page;
let evilOrigin;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  if (!process.env.APP_URL) await listen(app, APP_PORT);
  evilOrigin = `http://127.0.0.1:${await listen(evil, 0)}`;
  browser = await chromium.launch(CHROMIUM);
  context = await browser.newContext();
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  app.close();
  evil.close();
});

/** Runs a step; on failure saves a screenshot of every open page, then fails. Pages a
 * step opens besides the app's are closed afterwards. */
async function step(name, body) {
  try {
    await body();
  } catch (error) {
    for (const [i, p] of context.pages().entries()) {
      await p.screenshot({ path: join(SHOTS, `${name}-${i}.png`), fullPage: true }).catch(() => {});
    }
    throw error;
  } finally {
    for (const p of context.pages()) if (p !== page) await p.close();
  }
}

const byTestId = (id) => page.getByTestId(id);
let workspaceName;

test("signs in with email and password: the API's message on failure, then the session cookie", () =>
  step("sign-in", async () => {
    await page.goto(APP);
    const form = byTestId("sign-in-form");
    await form.locator("[name=email]").fill("bob@example.com");
    await form.locator("[name=password]").fill("not-the-password");
    await form.locator("button[type=submit]").click();
    await assert.doesNotReject(byTestId("banner").waitFor({ state: "visible" }));
    assert.match(await byTestId("banner").textContent(), /email or password/i);

    await form.locator("[name=password]").fill("password123");
    await form.locator("button[type=submit]").click();
    await page.getByText("bob@example.com, editor").waitFor();
    const cookies = await context.cookies(API);
    const session = cookies.find((c) => /^sb-.*-auth-token/.test(c.name));
    assert.ok(session, JSON.stringify(cookies.map((c) => c.name)));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Lax");
  }));

test("creates a workspace, shows field errors next to their fields, pages its projects", () =>
  step("projects", async () => {
    workspaceName = `Browser ${Date.now()}`;
    const newWs = byTestId("new-workspace");
    await newWs.locator("[name=name]").fill(workspaceName);
    await newWs.locator("button[type=submit]").click();
    await page.getByTestId("workspace-name").getByText(workspaceName).waitFor();

    // Enough workspaces for a second page (bob has the seed's and earlier runs' too).
    for (const suffix of ["b", "c", "d", "e", "f"]) {
      await newWs.locator("[name=name]").fill(`${workspaceName} ${suffix}`);
      await newWs.locator("button[type=submit]").click();
      await page.getByTestId("workspace-name").getByText(`${workspaceName} ${suffix}`).waitFor();
    }
    const total = Number(sql(
      `select count(*) from public.workspace_members m join auth.users u on u.id = m.user_id where u.email = 'bob@example.com'`,
    ));
    assert.ok(total >= 7, `bob is in ${total} workspaces`);
    const pages = Math.ceil(total / 5);
    await byTestId("workspaces-page").getByText(`Page 1 of ${pages} (${total} in all)`).waitFor();
    assert.equal(await byTestId("workspace").count(), 5);
    await page.locator('.pager[data-list="workspaces"] [data-page="next"]').click();
    await byTestId("workspaces-page").getByText(`Page 2 of ${pages}`).waitFor();
    // Newest first: the first one created here is on the second page; open it again.
    await page.locator('.pager[data-list="workspaces"] [data-page="prev"]').click();
    await byTestId("workspaces-page").getByText(`Page 1 of ${pages}`).waitFor();
    await byTestId("workspace").filter({ hasText: `${workspaceName} f` }).getByTestId("open-workspace").click();
    workspaceName = `${workspaceName} f`;
    await page.getByTestId("workspace-name").getByText(workspaceName).waitFor();

    const newProject = byTestId("new-project");
    await newProject.locator("button[type=submit]").click(); // no name
    await newProject.locator('[data-field="name"]').getByText("must be 1 to 100 characters").waitFor();
    assert.equal(await byTestId("banner").textContent(), "The request is not valid");

    for (let i = 1; i <= 6; i++) {
      await newProject.locator("[name=name]").fill(`Project ${i}`);
      await newProject.locator("button[type=submit]").click();
      await byTestId("projects-page").getByText(`(${i} in all)`).waitFor();
    }
    await byTestId("projects-page").getByText("Page 1 of 2 (6 in all)").waitFor();
    assert.equal(await byTestId("project").count(), 5);
    await page.locator('.pager[data-list="projects"] [data-page="next"]').click();
    await byTestId("projects-page").getByText("Page 2 of 2").waitFor();
    assert.equal(await byTestId("project").count(), 1);
    const stored = sql(
      `select count(*) from public.projects p join public.workspaces w on w.id = p.workspace_id where w.name = '${workspaceName}'`,
    );
    assert.equal(stored, "6");
  }));

test("edits a project", () =>
  step("edit", async () => {
    await byTestId("edit-project-button").first().click();
    const form = byTestId("edit-project");
    await form.locator("[name=name]").fill("Renamed in the browser");
    await form.locator("[name=description]").fill("Edited");
    await form.locator("button[type=submit]").click();
    await byTestId("projects").getByText("Renamed in the browser: Edited").waitFor();
    const renamed = sql(
      `select count(*) from public.projects p join public.workspaces w on w.id = p.workspace_id
        where w.name = '${workspaceName}' and p.name = 'Renamed in the browser' and p.description = 'Edited'`,
    );
    assert.equal(renamed, "1");
    assert.equal(await form.isHidden(), true);
  }));

test("a GIF renamed .png is rejected and its object is gone", () =>
  step("upload-gif", async () => {
    await byTestId("upload-file").setInputFiles({ name: "renamed.png", mimeType: "image/png", buffer: GIF });
    await page.locator("#upload button[type=submit]").click();
    await byTestId("upload-status").getByText("Rejected").waitFor();
    assert.match(await byTestId("upload-error").textContent(), /^rejected and deleted: /);
    assert.equal(await byTestId("banner").textContent(), "The request is not valid");
    assert.equal(await byTestId("upload-image").isHidden(), true);
    const id = await byTestId("upload-status").getAttribute("data-upload-id");
    assert.equal(sql(`select status from public.uploads where id = '${id}'`), "rejected");
    assert.deepEqual(objectsOf(id), []);
  }));

test("uploads a PNG straight to S3 with progress, then shows it from its download URL", () =>
  step("upload", async () => {
    await byTestId("upload-file").setInputFiles({ name: "pixels.png", mimeType: "image/png", buffer: png() });
    await page.locator("#upload button[type=submit]").click();
    await byTestId("upload-status").getByText("Ready: pixels.png").waitFor();
    assert.equal(await byTestId("upload-progress").evaluate((p) => p.value), 100);
    const image = byTestId("upload-image");
    await image.waitFor({ state: "visible" });
    await page.waitForFunction(() => document.querySelector("#upload-image").complete);
    assert.equal(await image.evaluate((img) => img.naturalWidth), 4);
    const id = await byTestId("upload-status").getAttribute("data-upload-id");
    assert.equal(sql(`select status from public.uploads where id = '${id}'`), "ready");
    assert.deepEqual(objectsOf(id), ["files"]);
  }));

test("watches /stream with EventSource, authenticated by the cookie", () =>
  step("stream", async () => {
    await byTestId("watch").click();
    await byTestId("stream-status").getByText("Done").waitFor({ timeout: 30_000 });
    assert.equal(await byTestId("event").count(), 5);
    assert.match(await byTestId("event").first().textContent(), /^1 of 5 at /);
    // The app's picture in docs/ (APP_SCREENSHOT=docs/web-app.png scripts/browser.sh).
    if (process.env.APP_SCREENSHOT) await page.screenshot({ path: process.env.APP_SCREENSHOT, fullPage: true });
  }));

test("a cross-site page cannot write with the cookie, by script or by form", () =>
  step("cross-site", async () => {
    const attacker = await context.newPage();
    await attacker.goto(`${evilOrigin}/post-fetch.html`);
    await attacker.waitForFunction(() => document.title !== "");
    assert.equal(await attacker.title(), "refused");

    const answer = attacker.waitForResponse((r) => r.url() === `${API}/workspaces`);
    await attacker.goto(`${evilOrigin}/post-form.html`);
    const response = await answer;
    // Without the SameSite=Lax cookie the API sees no credentials.
    assert.equal(response.status(), 401);
    assert.equal(sql(`select count(*) from public.workspaces where name like 'evil-%'`), "0");
  }));

test("a page on an origin that is not allowed cannot read the API", () =>
  step("foreign-origin", async () => {
    const stranger = await context.newPage();
    // The API answers, without Access-Control-Allow-Origin, so Chromium fails the fetch
    // for the page (Playwright sees a failed request rather than a response).
    const seen = new Promise((resolve) => {
      stranger.on("response", (r) => r.url() === `${API}/health` && resolve({ response: r }));
      stranger.on("requestfailed", (r) => r.url() === `${API}/health` && resolve({ failure: r.failure() }));
    });
    await stranger.goto(`${evilOrigin}/read.html`);
    await stranger.waitForFunction(() => document.title !== "");
    assert.equal(await stranger.title(), "refused");
    const { response, failure } = await seen;
    if (response) assert.equal(response.headers()["access-control-allow-origin"], undefined);
    else assert.ok(failure, "the request failed");
    // What the browser was answered: no CORS headers for this origin.
    const direct = await fetch(`${API}/health`, { headers: { origin: evilOrigin } });
    assert.equal(direct.status, 200);
    assert.equal(direct.headers.get("access-control-allow-origin"), null);
    assert.equal(direct.headers.get("access-control-allow-credentials"), null);
  }));

test("signs out: the cookie is cleared and the API refuses the session", () =>
  step("sign-out", async () => {
    await byTestId("sign-out").click();
    await byTestId("sign-in-form").waitFor({ state: "visible" });
    const left = (await context.cookies(API)).filter((c) => /^sb-.*-auth-token/.test(c.name));
    assert.deepEqual(left, []);
    const status = await page.evaluate(async (api) => (await fetch(`${api}/me`, { credentials: "include" })).status, API);
    assert.equal(status, 401);
  }));

test("signs in with GitHub: PKCE through the API and Supabase Auth, back with the cookie", () =>
  step("oauth", async () => {
    // The stand-in's fake provider plays the user at GitHub (its default account).
    const email = "github-user@example.test";
    const isNew = sql(`select count(*) from auth.users where email = '${email}'`) === "0";
    await page.goto(APP);
    await byTestId("oauth-github").click();
    await page.getByText(`(${email}, user)`).waitFor();
    assert.equal(new URL(page.url()).origin, new URL(APP).origin);
    assert.equal(await byTestId("welcome").isVisible(), isNew, "a first sign-in is told so");
    const cookies = await context.cookies(API);
    assert.ok(cookies.some((c) => /^sb-.*-auth-token(\.\d+)?$/.test(c.name)), JSON.stringify(cookies.map((c) => c.name)));
    assert.ok(!cookies.some((c) => c.name.endsWith("-code-verifier")), "the verifier is gone");
    assert.equal(
      sql(`select count(*) from auth.identities i join auth.users u on u.id = i.user_id where u.email = '${email}' and i.provider = 'github'`),
      "1",
    );
    await byTestId("sign-out").click();
    await byTestId("sign-in-form").waitFor({ state: "visible" });
  }));

test("signs in with an email link, at once in the browser that asked for it", () =>
  step("magic-link", async () => {
    await page.goto(APP);
    await byTestId("sign-in-form").waitFor({ state: "visible" });
    const form = byTestId("magic-link-form");
    await form.locator("[name=email]").fill("carol@example.com");
    await form.locator("button[type=submit]").click();
    await byTestId("link-status").getByText("Check your email").waitFor();
    // The stand-in's mailbox stands for carol's inbox.
    const { mail } = await newestLink("carol@example.com");
    assert.equal(mail.type, "magiclink");
    await page.goto(`${mail.redirectTo}&token_hash=${mail.tokenHash}&type=magiclink`);
    await page.getByText("(carol@example.com, user)").waitFor();
    assert.equal(new URL(page.url()).origin, new URL(APP).origin);
    // The confirmation step was never shown: this browser asked for the link.
    assert.equal(await byTestId("confirm-step").isVisible(), false);
    // Used once, and the browser's email-link cookie with it: the same link again is the
    // confirmation step, where it is refused; still signed out.
    await byTestId("sign-out").click();
    await byTestId("sign-in-form").waitFor({ state: "visible" });
    await page.goto(`${mail.redirectTo}&token_hash=${mail.tokenHash}&type=magiclink`);
    await byTestId("confirm-step").waitFor({ state: "visible" });
    await byTestId("confirm-here").click();
    await byTestId("banner").getByText(/invalid or has expired/).waitFor();
    await byTestId("sign-in-form").waitFor({ state: "visible" });
  }));

test("an email link opened in another browser signs in only when the person confirms", () =>
  step("confirm-step", async () => {
    // dave asks for a link in this browser...
    await page.goto(APP);
    await byTestId("sign-in-form").waitFor({ state: "visible" });
    const form = byTestId("magic-link-form");
    await form.locator("[name=email]").fill("dave@example.com");
    await form.locator("button[type=submit]").click();
    await byTestId("link-status").getByText("Check your email").waitFor();
    const { link } = await newestLink("dave@example.com");

    // ...an attacker's page leads a third browser to it (login CSRF): the confirmation
    // step, nobody signed in.
    const victim = await browser.newContext();
    try {
      const victimPage = await victim.newPage();
      await victimPage.goto(`${evilOrigin}/navigate.html?to=${encodeURIComponent(link)}`);
      await victimPage.getByTestId("confirm-step").waitFor({ state: "visible" });
      assert.equal(new URL(victimPage.url()).hash, "", "the link's parts are gone from the address bar");
      const status = await victimPage.evaluate(
        async (api) => (await fetch(`${api}/me`, { credentials: "include" })).status,
        API,
      );
      assert.equal(status, 401);
      assert.equal((await victim.cookies(API)).filter((c) => /^sb-.*-auth-token(\.\d+)?$/.test(c.name)).length, 0);
    } finally {
      await victim.close();
    }

    // dave, on his phone (another browser), opens the link: the step, then his click.
    const phone = await browser.newContext();
    try {
      const phonePage = await phone.newPage();
      await phonePage.goto(link);
      await phonePage.getByTestId("confirm-step").waitFor({ state: "visible" });
      await phonePage.getByTestId("sign-in-form").waitFor({ state: "visible" });
      await phonePage.getByTestId("confirm-here").click();
      await phonePage.getByText("(dave@example.com, user)").waitFor();
      assert.equal(await phonePage.getByTestId("confirm-step").isVisible(), false);
      assert.ok(
        (await phone.cookies(API)).some((c) => /^sb-.*-auth-token(\.\d+)?$/.test(c.name)),
        "the phone has the session cookie",
      );
    } finally {
      await phone.close();
    }
  }));
