import type { ApiError } from "@supa-lambda/client";

/** What a server action hands back to its form: that it went through, or the API's error
 * (its message and each field's) with what was typed, which the form shows again (React
 * resets a form after its action; the fields' defaults bring the values back). */
export type FormState =
  | { ok: true; at: number }
  | { ok: false; error: ApiError; values: Record<string, string> }
  | null;

/** A failed submission's state: the error, and the form's text fields as typed. */
export function failed(error: ApiError, form: FormData): FormState {
  const values: Record<string, string> = {};
  for (const [name, value] of form) if (typeof value === "string" && !name.startsWith("$")) values[name] = value;
  return { ok: false, error, values };
}

/** An error for an answer that never came (the API could not be reached). */
export const UNAVAILABLE: ApiError = {
  error: { code: "SERVICE_UNAVAILABLE", message: "The API cannot be reached", requestId: "" },
};

/** A form's text field as typed (the API checks it and names it when it is wrong). */
export function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

/** A page number from the address (?page=), 1 when absent or not a positive integer. */
export function pageOf(value: string | undefined): number {
  const page = Number(value);
  return Number.isInteger(page) && page > 0 ? page : 1;
}
