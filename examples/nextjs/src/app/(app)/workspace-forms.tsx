"use client";

import { ActionForm } from "@/components/action-form";
import { FieldError } from "@/components/field-error";

import { createWorkspace } from "./actions";

export function NewWorkspaceForm({ idempotencyKey }: { idempotencyKey: string }) {
  return (
    <ActionForm action={createWorkspace} testId="new-workspace">
      {(fields, pending) => (
        <>
          <input type="hidden" name="idempotencyKey" value={idempotencyKey} />
          <label>
            Name <input name="name" defaultValue={fields.value("name")} />
            <FieldError error={fields.error} field="name" />
          </label>
          <button type="submit" disabled={pending}>
            Create workspace
          </button>
        </>
      )}
    </ActionForm>
  );
}
