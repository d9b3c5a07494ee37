import { Pager } from "@/components/pager";
import { read, serverApi } from "@/lib/api";
import { pageOf } from "@/lib/forms";

import { EditProject, NewProjectForm } from "./project-forms";

const PAGE_SIZE = 5;

/** A workspace's projects, newest first, and the forms that write them (server actions). */
export default async function WorkspacePage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<{ page?: string }>;
}) {
  const { id } = await params;
  const page = pageOf((await searchParams).page);
  const api = await serverApi();
  const res = await api.GET("/projects", { params: { query: { workspaceId: id, page, pageSize: PAGE_SIZE } } });
  // Not a workspace of theirs (404, as for one that does not exist), or not an id (422).
  if (res.response.status === 404 || res.response.status === 422) {
    return (
      <p className="banner" data-testid="banner">
        {res.error?.error.message}
      </p>
    );
  }
  const data = read(res);
  return (
    <>
      <section>
        <h2>Projects</h2>
        <ul data-testid="projects">
          {data.data.map((p) => (
            <li key={p.id} data-testid="project">
              <span data-testid="project-text">
                {p.name}
                {p.description ? `: ${p.description}` : ""}
              </span>{" "}
              <EditProject project={p} />
            </li>
          ))}
        </ul>
        <Pager page={page} pages={data.pagination.totalPages} total={data.pagination.total} base={`/workspaces/${id}`} />
      </section>
      <section>
        <h2>New project</h2>
        <NewProjectForm workspaceId={id} idempotencyKey={crypto.randomUUID()} />
      </section>
    </>
  );
}
