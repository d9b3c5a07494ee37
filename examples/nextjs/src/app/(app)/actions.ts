"use server";

import { revalidatePath } from "next/cache";

import { serverApi } from "@/lib/api";
import { failed, text, UNAVAILABLE, type FormState } from "@/lib/forms";

/**
 * The app's writes: server actions calling the API as the signed-in user. Each create
 * carries the Idempotency-Key its form was rendered with, so a resubmission (a double
 * click, a retry after a lost answer) gets the first answer back instead of a second
 * row; the page renders a new key once the create went through. Then the page that
 * shows the change is revalidated.
 */

export async function createWorkspace(_: FormState, form: FormData): Promise<FormState> {
  const api = await serverApi();
  const res = await api
    .POST("/workspaces", {
      params: { header: { "Idempotency-Key": text(form, "idempotencyKey") } },
      body: { name: text(form, "name") },
    })
    .catch(() => ({ error: UNAVAILABLE }));
  if (res.error) return failed(res.error, form);
  revalidatePath("/");
  return { ok: true, at: Date.now() };
}

export async function createProject(_: FormState, form: FormData): Promise<FormState> {
  const workspaceId = text(form, "workspaceId");
  const description = text(form, "description");
  const api = await serverApi();
  const res = await api
    .POST("/projects", {
      params: { header: { "Idempotency-Key": text(form, "idempotencyKey") } },
      body: { workspaceId, name: text(form, "name"), ...(description ? { description } : {}) },
    })
    .catch(() => ({ error: UNAVAILABLE }));
  if (res.error) return failed(res.error, form);
  revalidatePath(`/workspaces/${workspaceId}`);
  return { ok: true, at: Date.now() };
}

export async function updateProject(_: FormState, form: FormData): Promise<FormState> {
  const id = text(form, "id");
  const description = text(form, "description");
  const api = await serverApi();
  const res = await api
    .PATCH("/projects/{id}", {
      params: { path: { id } },
      // An empty description clears it (null), as the API's PATCH does.
      body: { name: text(form, "name"), description: description === "" ? null : description },
    })
    .catch(() => ({ error: UNAVAILABLE }));
  if (res.error) return failed(res.error, form);
  revalidatePath(`/workspaces/${text(form, "workspaceId")}`);
  return { ok: true, at: Date.now() };
}
