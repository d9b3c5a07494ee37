"use server";

import type { ApiError, Schema } from "@supa-lambda/client";
import { revalidatePath } from "next/cache";

import { serverApi } from "@/lib/api";
import { UNAVAILABLE } from "@/lib/forms";

type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** Step 1: the API records the upload and presigns the PUT the browser sends the bytes
 * with, straight to S3 (they never pass through this server or a function). */
export async function startUpload(
  file: Schema<"NewUpload">,
  idempotencyKey: string,
): Promise<Result<Schema<"CreatedUpload">>> {
  const api = await serverApi();
  const res = await api
    .POST("/uploads", { params: { header: { "Idempotency-Key": idempotencyKey } }, body: file })
    .catch(() => ({ error: UNAVAILABLE, data: undefined }));
  return res.data ? { ok: true, value: res.data.data } : { ok: false, error: res.error ?? UNAVAILABLE };
}

/** Step 3, once the bytes are stored: the API checks their size and kind (a GIF renamed
 * .png is rejected and deleted) and the list is revalidated. */
export async function finishUpload(id: string): Promise<Result<Schema<"Upload">>> {
  const api = await serverApi();
  const res = await api
    .POST("/uploads/{id}/complete", { params: { path: { id } } })
    .catch(() => ({ error: UNAVAILABLE, data: undefined }));
  revalidatePath("/uploads");
  return res.data ? { ok: true, value: res.data.data } : { ok: false, error: res.error ?? UNAVAILABLE };
}
