"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";

import { browserApi } from "@/lib/browser-api";

import { useLoggedInUser } from "./logged-in-user";

/** Who is signed in, and signing out (the API ends the session and clears the cookie). */
export function UserNav() {
  const user = useLoggedInUser();
  const router = useRouter();
  const [busy, setBusy] = useState(false);

  async function signOut() {
    setBusy(true);
    await browserApi.POST("/auth/sign-out", { params: { query: { scope: "local" } } }).catch(() => undefined);
    router.replace("/sign-in");
    router.refresh();
  }

  return (
    <div className="user-nav" data-testid="user-nav">
      <span data-testid="signed-in-as">
        {user.name ? `${user.name} ` : ""}({user.email}, {user.role})
      </span>
      <button type="button" onClick={signOut} disabled={busy} data-testid="sign-out">
        Sign out
      </button>
    </div>
  );
}
