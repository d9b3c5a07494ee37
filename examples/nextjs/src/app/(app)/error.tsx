"use client";

/** What a page shows when the API cannot answer it (never the error's details). */
export default function AppError({ reset }: { error: Error; reset: () => void }) {
  return (
    <section className="banner" data-testid="page-error">
      <p>This page could not be loaded. Try again in a moment.</p>
      <button type="button" onClick={reset}>
        Try again
      </button>
    </section>
  );
}
