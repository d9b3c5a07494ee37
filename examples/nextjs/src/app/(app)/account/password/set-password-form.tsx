"use client";

import { useCallback, useState } from "react";

import { ActionForm } from "@/components/action-form";
import { FieldError } from "@/components/field-error";

import { setPassword } from "../actions";

export function SetPasswordForm() {
  const [done, setDone] = useState(false);
  const onDone = useCallback(() => setDone(true), []);
  return (
    <>
      {done && (
        <p className="notice" data-testid="password-set">
          Your new password is set.
        </p>
      )}
      <ActionForm action={setPassword} testId="set-password" onDone={onDone}>
        {({ error }, pending) => (
          <>
            <label>
              New password <input name="password" type="password" autoComplete="new-password" />
              <FieldError error={error} field="password" />
            </label>
            <button type="submit" disabled={pending}>
              Set password
            </button>
          </>
        )}
      </ActionForm>
    </>
  );
}
