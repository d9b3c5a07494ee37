import Link from "next/link";

/** Previous and next links for a list the API pages (`?page=`). */
export function Pager({ page, pages, total, base }: { page: number; pages: number; total: number; base: string }) {
  const at = (p: number) => `${base}${base.includes("?") ? "&" : "?"}page=${p}`;
  return (
    <p className="pager" data-testid="pager">
      {page > 1 ? <Link href={at(page - 1)}>Previous</Link> : <span />}
      <span>
        Page {page} of {Math.max(pages, 1)} ({total} in all)
      </span>
      {page < pages ? <Link href={at(page + 1)}>Next</Link> : <span />}
    </p>
  );
}
