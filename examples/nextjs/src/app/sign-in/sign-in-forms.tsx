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
      <EmailLinkForm
        title="Email link"
        path="/auth/magic-link"
        next={origin ? origin + next : ""}
        sentText="Check your email for the sign-in link."
        testIds={["magic-link-form", "link-status"]}
        error={apiError}
        onError={setError}
      />
      {/* The recovery link signs them in and lands where they choose a new password. */}
      <EmailLinkForm
        title="Forgot your password?"
        path="/auth/recover"
        next={origin ? `${origin}/account/password` : ""}
        sentText="Check your email for a link to choose a new password."
        testIds={["recovery-form", "recovery-status"]}
        error={apiError}
        onError={setError}
      />
    </>
  );
}

/** Asks the API for an email link (`path`) that lands on `next`, then says what to look
 * for. The answer is the same for any address. */
function EmailLinkForm({
  title,
  path,
  next,
  sentText,
  testIds: [formId, statusId],
  error,
  onError,
}: {
  title: string;
  path: "/auth/magic-link" | "/auth/recover";
  next: string;
  sentText: string;
  testIds: [string, string];
  error: ApiError | undefined;
  onError: (error: ApiError | undefined) => void;
}) {
  const [sent, setSent] = useState(false);

  async function send(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const email = String(new FormData(event.currentTarget).get("email"));
    onError(undefined);
    const res = await browserApi.POST(path, { body: { email, next } }).catch(() => ({ error: UNREACHABLE }));
    if (res.error) return onError(res.error);
    setSent(true);
  }

  return (
    <section>
      <h2>{title}</h2>
      {sent ? (
        <p data-testid={statusId}>{sentText}</p>
      ) : (
        <form method="post" onSubmit={send} data-testid={formId}>
          <label>
            Email <input name="email" type="email" autoComplete="email" required />
            <FieldError error={error} field="email" />
          </label>
          <button type="submit">Email me a link</button>
        </form>
      )}
    </section>
  );
}
