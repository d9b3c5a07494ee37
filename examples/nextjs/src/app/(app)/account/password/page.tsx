import { SetPasswordForm } from "./set-password-form";

/** Where a recovery link lands (`?set_password=true` when the account's old password was
 * cleared), and where a signed-in user changes theirs. */
export default async function PasswordPage({ searchParams }: { searchParams: Promise<{ set_password?: string }> }) {
  const { set_password } = await searchParams;
  return (
    <section>
      <h2>{set_password === "true" ? "Choose a password" : "Change your password"}</h2>
      <SetPasswordForm />
    </section>
  );
}
