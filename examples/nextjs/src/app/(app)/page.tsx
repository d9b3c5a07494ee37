import Link from "next/link";

import { Pager } from "@/components/pager";
import { read, serverApi } from "@/lib/api";
import { pageOf } from "@/lib/forms";

import { NewWorkspaceForm } from "./workspace-forms";

const PAGE_SIZE = 5;

/** The signed-in user's workspaces, newest first, read by the server as the user. */
export default async function WorkspacesPage({ searchParams }: { searchParams: Promise<{ page?: string }> }) {
  const page = pageOf((await searchParams).page);
  const api = await serverApi();
  const data = read(await api.GET("/workspaces", { params: { query: { page, pageSize: PAGE_SIZE } } }));
  const { pagination } = data;
  return (
    <>
      <section>
        <h2>Workspaces</h2>
        <ul data-testid="workspaces">
          {data.data.map((w) => (
            <li key={w.id} data-testid="workspace">
              <Link href={`/workspaces/${w.id}`}>{w.name}</Link> ({w.role})
            </li>
          ))}
        </ul>
        <Pager page={page} pages={pagination.totalPages} total={pagination.total} base="/" />
      </section>
      <section>
        <h2>New workspace</h2>
        {/* A new key with every render: after a create, the next one is another request. */}
        <NewWorkspaceForm idempotencyKey={crypto.randomUUID()} />
      </section>
    </>
  );
}
