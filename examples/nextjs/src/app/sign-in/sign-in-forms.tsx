"use client";

import type { ApiError, Schema } from "@supa-lambda/client";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";

import { Banner, FieldError } from "@/components/field-error";
import { browserApi } from "@/lib/browser-api";
import { PUBLIC_API_URL } from "@/lib/settings";

/** A request that never reached the API, shown like any other error. */
const UNREACHABLE: ApiError = {
  error: { code: "SERVICE_UNAVAILABLE", message: "The API cannot be reached", requestId: "" },
};

type Confirm = Schema<"LinkConfirmation">;

export function SignInForms({ next, redirectError }: { next: string; redirectError?: string }) {
  const router = useRouter();
  const [error, setError] = useState<ApiError | string | undefined>(redirectError);
  const [linkSent, setLinkSent] = useState(false);
  const [recoverySent, setRecoverySent] = useState(false);
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const [origin, setOrigin] = useState("");

  useEffect(() => {
    setOrigin(window.location.origin);
    // An email link opened in a browser that did not ask for it: the API signed no one
    // in and sent the link's parts here, in the fragment (never sent to a server). Only
    // the person's own click signs in.
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    const tokenHash = fragment.get("confirm_token_hash");
    const type = fragment.get("confirm_type");
    if (tokenHash && type) setConfirm({ tokenHash, type } as Confirm);
    if (window.location.hash) history.replaceState(null, "", window.location.pathname + window.location.search);
  }, []);

  function signedIn() {
    router.replace(next);
    router.refresh();
  }

  async function signIn(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(undefined);
    const res = await browserApi
      .POST("/auth/sign-in", {
        body: { email: String(form.get("email")), password: String(form.get("password")) },
      })
      .catch(() => ({ error: UNREACHABLE }));
    if (res.error) return setError(res.error);
    signedIn();
  }

  async function sendLink(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(undefined);
    const res = await browserApi
      .POST("/auth/magic-link", { body: { email: String(form.get("email")), next: `${origin}${next}` } })
      .catch(() => ({ error: UNREACHABLE }));
    if (res.error) return setError(res.error);
    setLinkSent(true);
  }

  async function sendRecovery(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(undefined);
    // The link signs them in and lands on the page where they choose a new password.
    const res = await browserApi
      .POST("/auth/recover", { body: { email: String(form.get("email")), next: `${origin}/account/password` } })
      .catch(() => ({ error: UNREACHABLE }));
    if (res.error) return setError(res.error);
    setRecoverySent(true);
  }

  async function confirmHere() {
    if (!confirm) return;
    setConfirm(null);
    const res = await browserApi.POST("/auth/confirm", { body: confirm }).catch(() => ({ error: UNREACHABLE }));
    if (res.error) return setError(res.error);
    signedIn();
  }

  const apiError = typeof error === "string" ? undefined : error;
  return (
    <>
      <Banner error={error} />
      {confirm && (
        <section className="notice" data-testid="confirm-step">
          <p>Sign in with the link from your email, in this browser?</p>
          <button type="button" onClick={confirmHere} data-testid="confirm-here">
            Sign in here
          </button>{" "}
          <button type="button" onClick={() => setConfirm(null)}>
            Cancel
          </button>
        </section>
      )}
      <section>
        <h2>Email and password</h2>
        <form method="post" onSubmit={signIn} data-testid="sign-in-form">
          <label>
            Email <input name="email" type="email" autoComplete="email" required />
            <FieldError error={apiError} field="email" />
          </label>
          <label>
            Password <input name="password" type="password" autoComplete="current-password" required />
            <FieldError error={apiError} field="password" />
          </label>
          <button type="submit">Sign in</button>
        </form>
      </section>
      <section>
        <h2>GitHub</h2>
        {/* PKCE through the API: it keeps the verifier in a cookie, sends the browser to
            Supabase Auth, and back here with the session cookie. */}
        <a
          data-testid="oauth-github"
          href={origin ? `${PUBLIC_API_URL}/auth/oauth/github?next=${encodeURIComponent(origin + next)}` : undefined}
        >
          Sign in with GitHub
        </a>
      </section>
      <section>
        <h2>Email link</h2>
        {linkSent ? (
          <p data-testid="link-status">Check your email for the sign-in link.</p>
        ) : (
          <form method="post" onSubmit={sendLink} data-testid="magic-link-form">
            <label>
              Email <input name="email" type="email" autoComplete="email" required />
              <FieldError error={apiError} field="email" />
            </label>
            <button type="submit">Email me a link</button>
          </form>
        )}
      </section>
      <section>
        <h2>Forgot your password?</h2>
        {recoverySent ? (
          <p data-testid="recovery-status">Check your email for a link to choose a new password.</p>
        ) : (
          <form method="post" onSubmit={sendRecovery} data-testid="recovery-form">
            <label>
              Email <input name="email" type="email" autoComplete="email" required />
              <FieldError error={apiError} field="email" />
            </label>
            <button type="submit">Email me a link</button>
          </form>
        )}
      </section>
    </>
  );
}
