import { SignInForms } from "./sign-in-forms";

/** Sign-in: password, GitHub and an email link, all through the API, which sets the
 * session cookie. `next` is where to go afterwards (the proxy adds it). */
export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ next?: string; error?: string; error_description?: string }>;
}) {
  const params = await searchParams;
  // Only a path of this app: never an address elsewhere.
  const next = params.next?.startsWith("/") && !params.next.startsWith("//") ? params.next : "/";
  const error = params.error ? (params.error_description ?? params.error) : undefined;
  return (
    <main>
      <h1>Sign in</h1>
      <SignInForms next={next} redirectError={error} />
    </main>
  );
}
