// The Next.js app in a real browser: Debian's Chromium driven by playwright-core, against
// the local stack of `make test` (scripts/browser-next.sh builds the app, serves it with
// `next start` and passes the addresses). The app is http://localhost:<port> and the API
// http://localhost:<port> (one site: the session cookie the API sets is the app's too).
// Every step saves a screenshot when it fails (BROWSER_SCREENSHOTS).
//
// Needs: NEXT_APP_URL, BROWSER_API_URL, S3_ROOT, UPLOADS_BUCKET, TEST_DATABASE_URL,
// SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (the Auth stand-in's mailbox), and
// supabase/seed.sql loaded (bob@example.com, password123, editor).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { CHROMIUM, GIF, newestLink, objectsOf, png, sql } from "../../test-support/browser.mjs";

const APP = process.env.NEXT_APP_URL;
const API = process.env.BROWSER_API_URL;
const DB = process.env.TEST_DATABASE_URL;
const AUTH = process.env.SUPABASE_URL;
const SERVICE_KEY = process.env.SUPABASE_SERVICE_ROLE_KEY;
const SHOTS = process.env.BROWSER_SCREENSHOTS ?? "../../.local/browser-next";
assert.ok(
  APP && API && DB && AUTH && SERVICE_KEY && process.env.S3_ROOT && process.env.UPLOADS_BUCKET,
  "see the header for the environment",
);

// --- The session cookie ------------------------------------------------------------------

const SESSION_COOKIE = /^sb-.*-auth-token(\.\d+)?$/;

/** The session cookies of the app's site, in chunk order. */
async function sessionCookies(context) {
  return (await context.cookies(APP))
    .filter((c) => SESSION_COOKIE.test(c.name))
    .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/** The session the cookie holds (@supabase/ssr's `base64-` + base64url of the JSON). */
async function storedSession(context) {
  const value = (await sessionCookies(context)).map((c) => c.value).join("");
  assert.ok(value.startsWith("base64-"), "a session cookie in @supabase/ssr's format");
  return JSON.parse(Buffer.from(value.slice("base64-".length), "base64url").toString("utf8"));
}

/** Stores `session` in the cookie as @supabase/ssr does (chunks of 3180 characters). */
async function setSession(context, session) {
  const [first] = await sessionCookies(context);
  const name = first.name.replace(/\.\d+$/, "");
  const value = `base64-${Buffer.from(JSON.stringify(session)).toString("base64url")}`;
  const chunks = value.length <= 3180 ? [[name, value]]
    : Array.from({ length: Math.ceil(value.length / 3180) }, (_, i) => [`${name}.${i}`, value.slice(i * 3180, (i + 1) * 3180)]);
  await context.clearCookies({ name: SESSION_COOKIE });
  await context.addCookies(chunks.map(([n, v]) => ({ ...first, name: n, value: v })));
}

function claimsOf(accessToken) {
  return JSON.parse(Buffer.from(accessToken.split(".")[1], "base64url").toString("utf8"));
}

// --- The browser -----------------------------------------------------------------------

let browser;
let context;
let page;
const blocked = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch(CHROMIUM);
  context = await browser.newContext();
  // What the Content-Security-Policy blocked (Chromium reports each on the console).
  context.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) blocked.push(`${message.location().url}: ${message.text()}`);
  });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
});

/** Runs a step; on failure saves a screenshot of every open page, then fails. */
async function step(name, body) {
  try {
    await body();
  } catch (error) {
    for (const [i, p] of context.pages().entries()) {
      await p.screenshot({ path: join(SHOTS, `${name}-${i}.png`), fullPage: true }).catch(() => {});
    }
    throw error;
  }
}

const byTestId = (id, on = page) => on.getByTestId(id);

/** Opens `path` of the app and waits until React has hydrated it (the app marks it). */
async function open(path, on = page) {
  const res = await on.goto(`${APP}${path}`);
  await on.locator("html[data-hydrated]").waitFor({ state: "attached" });
  return res;
}

/** Fills the sign-in form on the page shown and submits it. */
async function submitSignIn(email, password) {
  const form = byTestId("sign-in-form");
  await form.locator("[name=email]").fill(email);
  await form.locator("[name=password]").fill(password);
  await form.locator("button[type=submit]").click();
}

async function signInAsBob() {
  await open("/");
  await submitSignIn("bob@example.com", "password123");
  await byTestId("signed-in-as").getByText("(bob@example.com, editor)").waitFor();
}

test("a visitor without a session is sent to sign-in, with the page to come back to", () =>
  step("redirect", async () => {
    const res = await open("/uploads");
    assert.equal(new URL(page.url()).pathname, "/sign-in");
    assert.equal(new URL(page.url()).searchParams.get("next"), "/uploads");
    assert.equal(res.status(), 200);
    assert.equal(res.headers()["x-frame-options"], "DENY");
    assert.equal(res.headers()["x-content-type-options"], "nosniff");
    const csp = res.headers()["content-security-policy"];
    assert.match(csp, /script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(csp.includes(new URL(API).origin), "the API may be fetched");
    // Next put the page's nonce on its scripts; a new page view, a new nonce.
    const nonce = csp.match(/'nonce-([^']+)'/)[1];
    assert.ok(await page.locator(`script[nonce]`).count() > 0);
    const again = (await (await fetch(`${APP}/sign-in`)).headers.get("content-security-policy"));
    assert.ok(!again.includes(nonce), "a nonce is never used twice");
    await byTestId("sign-in-form").waitFor();
    // A route handler answers for itself: the API's 401, not a page.
    const stream = await fetch(`${APP}/api/stream?count=1`);
    assert.equal(stream.status, 401);
    assert.equal((await stream.json()).error.code, "UNAUTHORIZED");
  }));

test("signs in with a password through the API: its message on failure, then the page asked for", () =>
  step("sign-in", async () => {
    const form = byTestId("sign-in-form");
    await form.locator("[name=email]").fill("bob@example.com");
    await form.locator("[name=password]").fill("not-the-password");
    await form.locator("button[type=submit]").click();
    await byTestId("banner").getByText(/email or password/i).waitFor();

    await form.locator("[name=password]").fill("password123");
    await form.locator("button[type=submit]").click();
    // The client component shows the user the protected layout read from GET /me.
    await byTestId("signed-in-as").getByText("(bob@example.com, editor)").waitFor();
    assert.equal(new URL(page.url()).pathname, "/uploads");
    const [cookie] = await sessionCookies(context);
    assert.ok(cookie, "the API's session cookie is the app's");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Lax");
  }));

test("server actions: a workspace and its projects with an Idempotency-Key, the API's field errors, an edit", () =>
  step("projects", async () => {
    await open("/");
    const name = `Next ${Date.now()}`;
    const newWs = byTestId("new-workspace");
    const key = await newWs.locator("[name=idempotencyKey]").inputValue();
    await newWs.locator("[name=name]").fill(name);
    await newWs.locator("button[type=submit]").click();
    // revalidatePath: the list the server renders next has it.
    await byTestId("workspaces").getByText(name).waitFor();
    assert.equal(sql(`select count(*) from public.workspaces where name = '${name}'`), "1");
    // The create carried the form's key (the API keeps it for 24 h for replays).
    assert.equal(
      sql(`select operation from private.idempotency_keys k join auth.users u on u.id = k.user_id
            where u.email = 'bob@example.com' and k.key = '${key}'`),
      "create_workspace",
    );
    // The form has a new key for the next create.
    assert.notEqual(await newWs.locator("[name=idempotencyKey]").inputValue(), key);
    // The same submission again (a retry after a lost answer: its key, its name): the API
    // answers with the first create, and there is still one workspace.
    const keyInput = newWs.locator("[name=idempotencyKey]");
    await keyInput.evaluate((input, k) => { input.value = k; }, key);
    await newWs.locator("[name=name]").fill(name);
    await newWs.locator("button[type=submit]").click();
    await page.waitForFunction((k) => document.querySelector('[data-testid="new-workspace"] [name=idempotencyKey]').value !== k, key);
    assert.equal(await newWs.getByTestId("banner").count(), 0);
    assert.equal(sql(`select count(*) from public.workspaces where name = '${name}'`), "1");

    await byTestId("workspaces").getByText(name).click();
    await byTestId("new-project").waitFor();
    const newProject = byTestId("new-project");
    await newProject.locator("[name=description]").fill("Kept");
    await newProject.locator("button[type=submit]").click(); // no name: the API's 422
    await newProject.locator('[data-field="name"]').getByText("must be 1 to 100 characters").waitFor();
    await newProject.getByTestId("banner").getByText("The request is not valid").waitFor();
    assert.equal(await newProject.locator("[name=description]").inputValue(), "Kept", "what was typed stays");

    await newProject.locator("[name=name]").fill("Alpha");
    await newProject.locator("[name=description]").fill("First");
    await newProject.locator("button[type=submit]").click();
    await byTestId("projects").getByText("Alpha: First").waitFor();
    const workspace = `(select id from public.workspaces where name = '${name}')`;
    assert.equal(sql(`select count(*) from public.projects where workspace_id = ${workspace}`), "1");
    assert.equal(await newProject.locator("[name=name]").inputValue(), "", "the form is cleared");

    await byTestId("edit-project-button").click();
    const edit = byTestId("edit-project");
    await edit.locator("[name=name]").fill("");
    await edit.locator("button[type=submit]").click();
    await edit.locator('[data-field="name"]').getByText("must be 1 to 100 characters").waitFor();
    await edit.locator("[name=name]").fill("Renamed");
    await edit.locator("[name=description]").fill("");
    await edit.locator("button[type=submit]").click();
    await byTestId("project-text").getByText(/^Renamed$/).waitFor();
    assert.equal(await edit.count(), 0, "the edit form closes");
    assert.equal(
      sql(`select name || ':' || coalesce(description, '(null)') from public.projects where workspace_id = ${workspace}`),
      "Renamed:(null)",
    );
  }));

test("uploads: a server action presigns, the browser PUTs to S3, another completes; a renamed GIF is rejected", () =>
  step("uploads", async () => {
    await open("/uploads");
    await byTestId("upload-file").setInputFiles({ name: "pixels.png", mimeType: "image/png", buffer: png() });
    await byTestId("upload-form").locator("button[type=submit]").click();
    await byTestId("upload-status").getByText("Ready: pixels.png").waitFor();
    const id = await byTestId("upload-status").getAttribute("data-upload-id");
    assert.equal(await byTestId("upload-progress").evaluate((p) => p.value), 100);
    assert.equal(sql(`select status from public.uploads where id = '${id}'`), "ready");
    assert.deepEqual(objectsOf(id), ["files"]);
    // Shown from its presigned GET.
    await byTestId("upload-image").waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="upload-image"]')?.complete);
    assert.equal(await byTestId("upload-image").evaluate((img) => img.naturalWidth), 4);
    // The list, revalidated by the server action, has it as ready.
    await page.locator(`[data-testid="upload"][data-upload-id="${id}"][data-status="ready"]`).waitFor();

    await byTestId("upload-file").setInputFiles({ name: "renamed.png", mimeType: "image/png", buffer: GIF });
    await byTestId("upload-form").locator("button[type=submit]").click();
    await byTestId("upload-status").getByText("Rejected").waitFor();
    await byTestId("banner").getByText("The request is not valid").waitFor();
    const rejected = await byTestId("upload-status").getAttribute("data-upload-id");
    assert.equal(sql(`select status from public.uploads where id = '${rejected}'`), "rejected");
    assert.deepEqual(objectsOf(rejected), []);
    await page.locator(`[data-testid="upload"][data-upload-id="${rejected}"][data-status="rejected"]`).waitFor();
    assert.equal(await byTestId("upload-image").count(), 0);
  }));

test("watches the API's events through a route handler", () =>
  step("stream", async () => {
    await open("/stream");
    await byTestId("watch").click();
    await byTestId("stream-status").getByText("Done").waitFor({ timeout: 30_000 });
    assert.equal(await byTestId("event").count(), 5);
    assert.match(await byTestId("event").first().textContent(), /^1 of 5 at /);
  }));

test("the proxy renews an expired session with its refresh token, for the page and the browser", () =>
  step("refresh", async () => {
    const before = await storedSession(context);
    // The access token has expired as far as the session knows (expires_at): the next page
    // view is the proxy's to refresh.
    await setSession(context, { ...before, expires_at: Math.floor(Date.now() / 1000) - 60 });

    await page.goto(`${APP}/`);
    await byTestId("signed-in-as").getByText("(bob@example.com, editor)").waitFor();
    const after = await storedSession(context);
    assert.notEqual(after.refresh_token, before.refresh_token, "a new refresh token");
    assert.notEqual(after.access_token, before.access_token, "a new access token");
    assert.ok(after.expires_at > Date.now() / 1000, "not expired");
    assert.equal(claimsOf(after.access_token).session_id, claimsOf(before.access_token).session_id, "the same session");
    const [cookie] = await sessionCookies(context);
    assert.equal(cookie.httpOnly, true, "the proxy writes it as the API does");
    assert.equal(sql(`select revoked from auth.refresh_tokens where token = '${before.refresh_token}'`), "t");
  }));

test("a session ended elsewhere is refused by the API: the layout sends the visitor to sign-in", () =>
  step("ended-session", async () => {
    const { access_token } = await storedSession(context);
    // Signed out of every device from elsewhere (the API's own sign-out, as bob).
    const res = await fetch(`${API}/auth/sign-out?scope=global`, {
      method: "POST",
      headers: { authorization: `Bearer ${access_token}` },
    });
    assert.equal(res.status, 204);
    // The token itself has not expired; the API's GET /me refuses it.
    await page.goto(`${APP}/`);
    await byTestId("sign-in-form").waitFor();
    assert.equal(new URL(page.url()).pathname, "/sign-in");
  }));

test("signs out: the API ends the session and clears the cookie", () =>
  step("sign-out", async () => {
    await signInAsBob();
    const { access_token } = await storedSession(context);
    await byTestId("sign-out").click();
    await byTestId("sign-in-form").waitFor();
    assert.deepEqual(await sessionCookies(context), []);
    const me = await fetch(`${API}/me`, { headers: { authorization: `Bearer ${access_token}` } });
    assert.equal(me.status, 401);
    await page.goto(`${APP}/`);
    assert.equal(new URL(page.url()).pathname, "/sign-in");

    // A sign-in link whose `next` leads elsewhere (`/\evil.example` is `//evil.example` to a
    // browser) lands on the app.
    await open(`/sign-in?next=${encodeURIComponent("/\\evil.example/x")}`);
    await submitSignIn("bob@example.com", "password123");
    await byTestId("signed-in-as").getByText("(bob@example.com, editor)").waitFor();
    assert.equal(page.url(), `${APP}/`);
    await byTestId("sign-out").click();
    await byTestId("sign-in-form").waitFor();
  }));

test("signs in with GitHub: PKCE through the API and Supabase Auth, back in the app", () =>
  step("oauth", async () => {
    const email = "github-user@example.test";
    await open("/sign-in?next=%2Fstream");
    await byTestId("oauth-github").click();
    await byTestId("signed-in-as").getByText(`(${email}, user)`).waitFor();
    assert.equal(new URL(page.url()).origin, APP);
    assert.equal(new URL(page.url()).pathname, "/stream");
    assert.ok(!(await context.cookies(API)).some((c) => c.name.endsWith("-code-verifier")), "the verifier is gone");
    await byTestId("sign-out").click();
    await byTestId("sign-in-form").waitFor();
  }));

test("signs in with an email link, at once in the browser that asked for it", () =>
  step("magic-link", async () => {
    await open("/sign-in");
    const form = byTestId("magic-link-form");
    await form.locator("[name=email]").fill("carol@example.com");
    await form.locator("button[type=submit]").click();
    await byTestId("link-status").getByText("Check your email").waitFor();
    await page.goto((await newestLink("carol@example.com")).link);
    await byTestId("signed-in-as").getByText("(carol@example.com, user)").waitFor();
    assert.equal(new URL(page.url()).origin, APP);
    await byTestId("sign-out").click();
    await byTestId("sign-in-form").waitFor();
  }));

test("an email link opened in another browser signs in only after the person confirms", () =>
  step("confirm-step", async () => {
    await open("/sign-in");
    const form = byTestId("magic-link-form");
    await form.locator("[name=email]").fill("dave@example.com");
    await form.locator("button[type=submit]").click();
    await byTestId("link-status").getByText("Check your email").waitFor();
    const link = (await newestLink("dave@example.com")).link;

    const phone = await browser.newContext();
    try {
      const phonePage = await phone.newPage();
      await phonePage.goto(link);
      await byTestId("confirm-step", phonePage).waitFor();
      assert.equal(new URL(phonePage.url()).pathname, "/sign-in");
      assert.equal(new URL(phonePage.url()).hash, "", "the link's parts are gone from the address bar");
      assert.equal((await phone.cookies(APP)).filter((c) => SESSION_COOKIE.test(c.name)).length, 0);
      await byTestId("confirm-here", phonePage).click();
      await byTestId("signed-in-as", phonePage).getByText("(dave@example.com, user)").waitFor();
    } finally {
      await phone.close();
    }
  }));

test("a recovery link signs in where a new password is chosen; the API's 422 beside the field; then it signs in", () =>
  step("recovery", async () => {
    await open("/sign-in");
    const form = byTestId("recovery-form");
    await form.locator("[name=email]").fill("dave@example.com");
    await form.locator("button[type=submit]").click();
    await byTestId("recovery-status").waitFor();
    const link = (await newestLink("dave@example.com")).link;
    assert.match(link, /type=recovery/);
    await page.goto(link);
    await byTestId("signed-in-as").getByText("(dave@example.com, user)").waitFor();
    assert.equal(new URL(page.url()).pathname, "/account/password");

    const setForm = byTestId("set-password");
    await setForm.locator("[name=password]").fill("short");
    await setForm.locator("button[type=submit]").click();
    await setForm.locator('[data-field="password"]').getByText(/8 to 72 characters/).waitFor();
    assert.equal(await setForm.locator("[name=password]").inputValue(), "", "a password is never sent back");
    const password = `a new password ${Date.now()}`;
    await setForm.locator("[name=password]").fill(password);
    await setForm.locator("button[type=submit]").click();
    await byTestId("password-set").waitFor();
    assert.equal(
      sql(`select count(*) from auth.users where email = 'dave@example.com'
             and encrypted_password = extensions.crypt('${password}', encrypted_password)`),
      "1",
    );

    await byTestId("sign-out").click();
    await submitSignIn("dave@example.com", password);
    await byTestId("signed-in-as").getByText("(dave@example.com, user)").waitFor();
    await byTestId("sign-out").click();
    await byTestId("sign-in-form").waitFor();
  }));

test("the Content-Security-Policy blocked nothing the app does, and blocks a script injected into a page", () =>
  step("csp", async () => {
    assert.deepEqual(blocked, [], "nothing of the app's own was blocked");
    await open("/sign-in");
    // Markup an attacker got into the page, with an inline handler (the usual XSS).
    await page.evaluate(() => {
      document.body.insertAdjacentHTML("beforeend", '<img src="/no-such-image.png" onerror="window.injected = true">');
    });
    // The image has failed to load (its error event is past), and the report has come.
    await page.waitForFunction(() => document.querySelector('img[src="/no-such-image.png"]').complete);
    for (let i = 0; i < 50 && blocked.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await page.evaluate(() => window.injected), undefined, "the injected handler did not run");
    assert.ok(blocked.some((b) => /inline event handler|script-src/i.test(b)), JSON.stringify(blocked));
  }));
