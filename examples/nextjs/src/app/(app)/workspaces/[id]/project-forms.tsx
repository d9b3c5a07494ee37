"use client";

import type { Schema } from "@supa-lambda/client";
import { useCallback, useState } from "react";

import { ActionForm } from "@/components/action-form";
import { FieldError } from "@/components/field-error";

import { createProject, updateProject } from "../../actions";

export function NewProjectForm({ workspaceId, idempotencyKey }: { workspaceId: string; idempotencyKey: string }) {
  return (
    <ActionForm action={createProject} testId="new-project">
      {({ error, value }, pending) => (
        <>
          <input type="hidden" name="workspaceId" value={workspaceId} />
          <input type="hidden" name="idempotencyKey" value={idempotencyKey} />
          <label>
            Name <input name="name" defaultValue={value("name")} />
            <FieldError error={error} field="name" />
          </label>
          <label>
            Description <textarea name="description" rows={2} defaultValue={value("description")} />
            <FieldError error={error} field="description" />
          </label>
          <button type="submit" disabled={pending}>
            Create project
          </button>
        </>
      )}
    </ActionForm>
  );
}

export function EditProject({ project }: { project: Schema<"Project"> }) {
  const [open, setOpen] = useState(false);
  const close = useCallback(() => setOpen(false), []);
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)} data-testid="edit-project-button">
        Edit
      </button>
    );
  }
  return (
    <ActionForm action={updateProject} testId="edit-project" onDone={close}>
      {({ error, value }, pending) => (
        <>
          <input type="hidden" name="id" value={project.id} />
          <input type="hidden" name="workspaceId" value={project.workspaceId} />
          <label>
            Name <input name="name" defaultValue={value("name", project.name)} />
            <FieldError error={error} field="name" />
          </label>
          <label>
            Description{" "}
            <textarea name="description" rows={2} defaultValue={value("description", project.description ?? "")} />
            <FieldError error={error} field="description" />
          </label>
          <button type="submit" disabled={pending}>
            Save
          </button>
        </>
      )}
    </ActionForm>
  );
}
