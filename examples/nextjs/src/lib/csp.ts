import { PUBLIC_API_URL } from "@/lib/settings";

/**
 * The Content-Security-Policy of every page, with this request's nonce: scripts only
 * Next's own, carrying the nonce (`'strict-dynamic'` lets them load the rest); styles
 * only the app's stylesheets; fetches to this app, the API (sign-in, email links,
 * sign-out) and the uploads bucket (the presigned PUT); images from the app and the
 * bucket (download URLs); no plugins, no <base>, forms posting only here, never framed.
 * `STORAGE_ORIGIN` is the bucket's origin as its presigned URLs name it (deployed,
 * https://<bucket>.s3.<region>.amazonaws.com). `next dev` needs 'unsafe-eval' (React's
 * error overlay) and inline styles; a production build needs neither.
 */
export function contentSecurityPolicy(nonce: string): string {
  const api = new URL(PUBLIC_API_URL).origin;
  const storage = process.env.STORAGE_ORIGIN ? new URL(process.env.STORAGE_ORIGIN).origin : "";
  const dev = process.env.NODE_ENV === "development";
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // `next dev`'s overlay adds styles without the nonce (and a nonce would void
    // 'unsafe-inline'); a production build's carry it.
    dev ? "style-src 'self' 'unsafe-inline'" : `style-src 'self' 'nonce-${nonce}'`,
    `img-src 'self' blob: data: ${storage}`.trim(),
    `connect-src 'self' ${api} ${storage}`.trim(),
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
