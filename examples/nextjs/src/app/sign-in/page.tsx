import { SignInForms } from "./sign-in-forms";

/** Sign-in: password, GitHub and an email link, all through the API, which sets the
 * session cookie. `next` is where to go afterwards (the proxy adds it). */
export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ next?: string; error?: string; error_description?: string }>;
}) {
  const params = await searchParams;
  const next = localPath(params.next);
  const error = params.error ? (params.error_description ?? params.error) : undefined;
  return (
    <main>
      <h1>Sign in</h1>
      <SignInForms next={next} redirectError={error} />
    </main>
  );
}

/** `next` as a path of this app, or `/`: never an address elsewhere (`//evil.example`,
 * `/\\evil.example` and `https://evil.example` all resolve to another origin). */
function localPath(next: string | undefined): string {
  const base = "http://app.invalid";
  try {
    const url = new URL(next ?? "/", base);
    return url.origin === base ? url.pathname + url.search + url.hash : "/";
  } catch {
    return "/";
  }
}
