import Link from "next/link";
import type { ReactNode } from "react";

import { LoggedInUserProvider } from "@/components/logged-in-user";
import { UserNav } from "@/components/user-nav";
import { read, serverApi } from "@/lib/api";

/**
 * Every page of the app but sign-in. The API decides who is signed in: `GET /me` with
 * the session's access token, which it checks against a live session (a session ended
 * on another device, or a deleted account, is 401 here even if the token has not
 * expired). No session, or an ended one: the sign-in page.
 */
export default async function AppLayout({ children }: { children: ReactNode }) {
  const me = read(await (await serverApi()).GET("/me")).data;
  return (
    <LoggedInUserProvider user={me}>
      <header>
        <nav>
          <Link href="/">Workspaces</Link>
          <Link href="/uploads">Uploads</Link>
          <Link href="/stream">Stream</Link>
          <Link href="/account/password">Password</Link>
        </nav>
        <UserNav />
      </header>
      <main>{children}</main>
    </LoggedInUserProvider>
  );
}
