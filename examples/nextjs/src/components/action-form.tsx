"use client";

import type { ApiError } from "@supa-lambda/client";
import { useActionState, useEffect, type ReactNode } from "react";

import type { FormState } from "@/lib/forms";

import { Banner } from "./field-error";

type Action = (state: FormState, form: FormData) => Promise<FormState>;

/** What the fields of an ActionForm show: the values of a failed submission, else theirs. */
export type Fields = { error: ApiError | undefined; value: (name: string, initial?: string) => string };

/**
 * A form whose submit runs a server action (`useActionState`), and works before the page
 * has hydrated too: the API's error above it, and the children render each field's
 * message and value from `fields` (a failed submission's values come back; a successful
 * one leaves the form empty, or as `initial` says). `onDone` is told of each success.
 */
export function ActionForm({
  action,
  children,
  testId,
  onDone,
}: {
  action: Action;
  children: (fields: Fields, pending: boolean) => ReactNode;
  testId: string;
  onDone?: () => void;
}) {
  const [state, formAction, pending] = useActionState(action, null);
  useEffect(() => {
    if (state?.ok) onDone?.();
  }, [state, onDone]);
  const fields: Fields = {
    error: state?.ok === false ? state.error : undefined,
    value: (name, initial = "") => (state?.ok === false ? (state.values[name] ?? initial) : initial),
  };
  return (
    <form action={formAction} data-testid={testId}>
      {state && !state.ok && <Banner error={state.error} />}
      {children(fields, pending)}
    </form>
  );
}
