"use server";

import { serverApi } from "@/lib/api";
import { failed, text, UNAVAILABLE, type FormState } from "@/lib/forms";

/** A new password for the signed-in user (after a recovery link signed them in, or any
 * time): the API asks Supabase Auth with the user's own token. */
export async function setPassword(_: FormState, form: FormData): Promise<FormState> {
  const api = await serverApi();
  const res = await api
    .POST("/auth/password", { body: { password: text(form, "password") } })
    .catch(() => ({ error: UNAVAILABLE }));
  // The password is never sent back to the form.
  if (res.error) return failed(res.error, new FormData());
  return { ok: true, at: Date.now() };
}
