import { fieldError, type ApiError } from "@supa-lambda/client";

/** The API's message for one field of a 422 (`details.fields`), next to that field. */
export function FieldError({ error, field }: { error: ApiError | undefined; field: string }) {
  return (
    <span className="field-error" data-field={field}>
      {fieldError(error, field) ?? ""}
    </span>
  );
}

/** The API's message for the whole answer. */
export function Banner({ error }: { error: ApiError | string | undefined }) {
  if (!error) return null;
  return (
    <p className="banner" role="alert" data-testid="banner">
      {typeof error === "string" ? error : error.error.message}
    </p>
  );
}
