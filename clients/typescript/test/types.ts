// Compile-time tests of the generated types (`npm run check`): the calls below must
// compile, and each `@ts-expect-error` line must NOT (tsc fails if it would), so a
// document that stopped describing a rule fails `make test`.
import { createApiClient, fieldError, type ApiError, type Schema } from "../src/index.js";

const api = createApiClient({ baseUrl: "http://127.0.0.1:9000", accessToken: () => "token" });
const id = "00000000-0000-4000-8000-000000000200";

export async function calls(): Promise<void> {
  const list = await api.GET("/projects", {
    params: { query: { workspaceId: id, page: 1, pageSize: 20 } },
  });
  if (list.data) {
    const first: Schema<"Project"> | undefined = list.data.data[0];
    const total: number = list.data.pagination.total;
    void first;
    void total;
  }
  if (list.error) {
    const code: Schema<"ErrorCode"> = list.error.error.code;
    const name: string | undefined = fieldError(list.error, "name");
    void code;
    void name;
  }

  const created = await api.POST("/projects", { body: { name: "Launch", workspaceId: id } });
  const project: Schema<"Project"> | undefined = created.data?.data;
  void project;

  await api.PATCH("/projects/{id}", { params: { path: { id } }, body: { description: null } });
  await api.GET("/users/{id}", { params: { path: { id } } });
  const me = await api.GET("/me");
  const role: "admin" | "editor" | "user" | undefined = me.data?.data.role;
  void role;

  // A copy of one's data, a part a page at a time; the part names its items' type.
  const part = await api.GET("/me/export", { params: { query: { part: "posts", pageSize: 50 } } });
  if (part.data?.data.part === "posts") {
    const posts: Schema<"Post">[] = part.data.data.items;
    void posts;
  }

  // Leaving: the password is optional; a 409 names the workspaces in the way.
  await api.DELETE("/me");
  const left = await api.DELETE("/me", { body: { password: "the password" } });
  const blocking: Schema<"WorkspaceRef">[] | undefined = left.error?.error.details?.workspaces;
  void blocking;

  // @ts-expect-error: name is required
  await api.POST("/projects", { body: { workspaceId: id } });
  // @ts-expect-error: a project's name cannot be cleared
  await api.PATCH("/projects/{id}", { params: { path: { id } }, body: { name: null } });
  // @ts-expect-error: no such path
  await api.GET("/project");
  // @ts-expect-error: pageSize is a number
  await api.GET("/projects", { params: { query: { pageSize: "20" } } });
  // @ts-expect-error: the path needs its id
  await api.GET("/projects/{id}", {});
  // @ts-expect-error: PUT /projects is not an operation
  await api.PUT("/projects", { body: {} });
  // @ts-expect-error: an export has no such part
  await api.GET("/me/export", { params: { query: { part: "passwords" } } });
  // @ts-expect-error: the password is text
  await api.DELETE("/me", { body: { password: 1234 } });
  // @ts-expect-error: an upload is an image of a listed type
  await api.POST("/uploads", { body: { filename: "a.gif", contentType: "image/gif", size: 1 } });
}

export const refused: ApiError = {
  error: { code: "VALIDATION_ERROR", message: "The request is not valid", requestId: "r" },
};
