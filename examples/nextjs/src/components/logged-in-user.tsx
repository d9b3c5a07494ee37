"use client";

import type { Schema } from "@supa-lambda/client";
import { createContext, useContext, type ReactNode } from "react";

type Me = Schema<"Me">;

const LoggedInUser = createContext<Me | null>(null);

/** Gives the client components below it the signed-in user, as the protected layout read
 * it from the API (`GET /me`) for this request. */
export function LoggedInUserProvider({ user, children }: { user: Me; children: ReactNode }) {
  return <LoggedInUser.Provider value={user}>{children}</LoggedInUser.Provider>;
}

/** The signed-in user, in any client component under the protected layout. */
export function useLoggedInUser(): Me {
  const user = useContext(LoggedInUser);
  if (!user) throw new Error("useLoggedInUser is only for pages under the protected layout");
  return user;
}
