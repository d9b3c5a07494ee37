// The example app: plain TypeScript on the typed client (clients/typescript), signed in
// with the API's session cookie. The app and the API must be on the same site (here
// both on `localhost`, any ports) for the browser to send that cookie: see
// docs/example-app.md.
import { createApiClient, fieldError, type ApiError, type Schema } from "@supa-lambda/client";

type Workspace = Schema<"Workspace">;
type Project = Schema<"Project">;
type Pagination = Schema<"Pagination">;
type ClientRequest = Schema<"ClientRequest">;
type StreamProgress = Schema<"StreamProgress">;

const API_URL: string = import.meta.env.VITE_API_URL ?? "http://localhost:9000";
// On AWS the stream has its own URL (template.yaml's StreamUrl); locally it is a route.
const STREAM_URL: string = import.meta.env.VITE_STREAM_URL ?? `${API_URL}/stream`;
const PAGE_SIZE = 5;

// No token: the session cookie of POST /auth/sign-in goes with every request.
const api = createApiClient({ baseUrl: API_URL });

const state = {
  workspacesPage: 1,
  projectsPage: 1,
  workspace: null as Workspace | null,
  editing: null as Project | null,
};

function el<T extends HTMLElement = HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`missing ${selector}`);
  return found;
}

function field(form: HTMLFormElement, name: string): HTMLInputElement | HTMLTextAreaElement {
  return form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement;
}

/** Clears the banner and the field errors of `form`. */
function clearErrors(form?: HTMLFormElement): void {
  const banner = el("#banner");
  banner.hidden = true;
  banner.textContent = "";
  form?.querySelectorAll<HTMLElement>(".field-error").forEach((e) => (e.textContent = ""));
}

/** The API's message in the banner, and each named field's message next to it. */
function showError(error: ApiError | undefined, form?: HTMLFormElement): void {
  const banner = el("#banner");
  banner.textContent = error?.error.message ?? "Something went wrong";
  banner.hidden = false;
  if (!form || !error) return;
  // A slot names one field, or several (the upload's: the file and what describes it).
  form.querySelectorAll<HTMLElement>(".field-error").forEach((slot) => {
    const names = (slot.dataset.field ?? "").split(" ");
    slot.textContent = names.map((name) => fieldError(error, name)).find(Boolean) ?? "";
  });
}

function unreachable(): void {
  showError({
    error: { code: "SERVICE_UNAVAILABLE", message: `The API at ${API_URL} could not be reached`, requestId: "" },
  });
}

/** Runs an API call; a network or CORS failure shows in the banner instead of throwing. */
async function attempt<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch {
    unreachable();
    return undefined;
  }
}

function pageLabel(p: Pagination): string {
  return `Page ${p.page} of ${Math.max(p.totalPages, 1)} (${p.total} in all)`;
}

function pager(list: string, p: Pagination, go: (page: number) => void): void {
  const nav = el(`.pager[data-list="${list}"]`);
  el(`[data-testid="${list}-page"]`).textContent = pageLabel(p);
  const prev = nav.querySelector<HTMLButtonElement>('[data-page="prev"]')!;
  const next = nav.querySelector<HTMLButtonElement>('[data-page="next"]')!;
  prev.disabled = p.page <= 1;
  next.disabled = p.page >= p.totalPages;
  prev.onclick = () => go(p.page - 1);
  next.onclick = () => go(p.page + 1);
}

// --- Session -------------------------------------------------------------------------

async function loadMe(): Promise<void> {
  const res = await attempt(() => api.GET("/me"));
  const signedIn = res?.data !== undefined;
  el("#sign-in-section").hidden = signedIn;
  el("#app").hidden = !signedIn;
  el("#sign-out").hidden = !signedIn;
  if (!res?.data) {
    el("#who").textContent = "";
    return;
  }
  const me = res.data.data;
  el("#who").textContent = `${me.name ?? me.email} (${me.email}, ${me.role})`;
  await loadWorkspaces();
}

el<HTMLFormElement>("#sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  clearErrors(form);
  const res = await attempt(() =>
    api.POST("/auth/sign-in", {
      body: { email: field(form, "email").value, password: field(form, "password").value },
    }),
  );
  if (!res) return;
  if (res.error) return showError(res.error, form);
  form.reset();
  await loadMe();
});

// OAuth (PKCE) and email links are redirects through the API: it sets the session cookie
// and sends the browser back here, with `new_user=true` on a first sign-in, or `error` and
// `error_description` when something went wrong.
const here = `${location.origin}/`;
el<HTMLAnchorElement>("#oauth-github").href =
  `${API_URL}/auth/oauth/github?next=${encodeURIComponent(here)}`;

el<HTMLFormElement>("#magic-link").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  clearErrors(form);
  const res = await attempt(() =>
    api.POST("/auth/magic-link", { body: { email: field(form, "email").value, next: here } }),
  );
  if (!res) return;
  if (res.error) return showError(res.error, form);
  el("#link-status").textContent = "Check your email for the sign-in link.";
});

function readRedirect(): void {
  const params = new URLSearchParams(location.search);
  const error = params.get("error");
  if (error) {
    showError({
      error: {
        code: "UNAUTHORIZED",
        message: params.get("error_description") ?? error,
        requestId: "",
      },
    });
  }
  el("#welcome").hidden = params.get("new_user") !== "true";
  el("#set-password").hidden = params.get("set_password") !== "true";
  // An email link opened in a browser that did not ask for it: the API signed no one
  // in and sent its parts here, in the fragment (never sent to a server). Only the
  // person's own click signs in.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const tokenHash = fragment.get("confirm_token_hash");
  const type = fragment.get("confirm_type");
  if (tokenHash && type) showConfirmStep(tokenHash, type);
  if (params.has("error") || params.has("new_user") || params.has("set_password") || location.hash) {
    history.replaceState(null, "", location.pathname);
  }
}

function showConfirmStep(tokenHash: string, type: string): void {
  el("#confirm-step").hidden = false;
  el<HTMLButtonElement>("#confirm-here").onclick = async () => {
    clearErrors();
    // The link's type, as the API's document lists them.
    const body = { tokenHash, type } as Schema<"LinkConfirmation">;
    const res = await attempt(() => api.POST("/auth/confirm", { body }));
    el("#confirm-step").hidden = true;
    if (!res) return;
    if (res.error) return showError(res.error);
    el("#welcome").hidden = !res.data.data.isNewUser;
    el("#set-password").hidden = !res.data.data.setPassword;
    await loadMe();
  };
  el<HTMLButtonElement>("#confirm-cancel").onclick = () => {
    el("#confirm-step").hidden = true;
  };
}

el<HTMLFormElement>("#set-password").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  clearErrors(form);
  const res = await attempt(() =>
    api.POST("/auth/password", { body: { password: field(form, "password").value } }),
  );
  if (!res) return;
  if (res.error) return showError(res.error, form);
  form.reset();
  form.hidden = true;
});
el<HTMLFormElement>("#set-password")
  .querySelector<HTMLButtonElement>('[data-action="skip"]')!
  .addEventListener("click", () => {
    el("#set-password").hidden = true;
  });

el("#sign-out").addEventListener("click", async () => {
  clearErrors();
  const res = await attempt(() => api.POST("/auth/sign-out"));
  if (res?.error) showError(res.error);
  state.workspace = null;
  el("#projects-section").hidden = true;
  await loadMe();
});

// --- Workspaces and projects ---------------------------------------------------------

async function loadWorkspaces(): Promise<void> {
  const res = await attempt(() =>
    api.GET("/workspaces", { params: { query: { page: state.workspacesPage, pageSize: PAGE_SIZE } } }),
  );
  if (!res) return;
  if (res.error) return showError(res.error);
  const list = el("#workspaces");
  list.replaceChildren(
    ...res.data.data.map((ws) => {
      const item = document.createElement("li");
      item.dataset.testid = "workspace";
      item.classList.toggle("selected", ws.id === state.workspace?.id);
      item.textContent = `${ws.name} (${ws.role})`;
      const open = document.createElement("button");
      open.textContent = "Open";
      open.dataset.testid = "open-workspace";
      open.onclick = () => openWorkspace(ws);
      item.append(open);
      return item;
    }),
  );
  pager("workspaces", res.data.pagination, (page) => {
    state.workspacesPage = page;
    void loadWorkspaces();
  });
}

el<HTMLFormElement>("#new-workspace").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  clearErrors(form);
  const res = await attempt(() => api.POST("/workspaces", { body: { name: field(form, "name").value } }));
  if (!res) return;
  if (res.error) return showError(res.error, form);
  form.reset();
  await loadWorkspaces();
  await openWorkspace(res.data.data);
});

async function openWorkspace(ws: Workspace): Promise<void> {
  state.workspace = ws;
  state.projectsPage = 1;
  el("#workspace-name").textContent = ws.name;
  el("#projects-section").hidden = false;
  await loadProjects();
}

async function loadProjects(): Promise<void> {
  const ws = state.workspace;
  if (!ws) return;
  const res = await attempt(() =>
    api.GET("/projects", {
      params: { query: { workspaceId: ws.id, page: state.projectsPage, pageSize: PAGE_SIZE } },
    }),
  );
  if (!res) return;
  if (res.error) return showError(res.error);
  el("#projects").replaceChildren(
    ...res.data.data.map((project) => {
      const item = document.createElement("li");
      item.dataset.testid = "project";
      item.textContent = project.description ? `${project.name}: ${project.description}` : project.name;
      const edit = document.createElement("button");
      edit.textContent = "Edit";
      edit.dataset.testid = "edit-project-button";
      edit.onclick = () => startEditing(project);
      item.append(edit);
      return item;
    }),
  );
  pager("projects", res.data.pagination, (page) => {
    state.projectsPage = page;
    void loadProjects();
  });
}

el<HTMLFormElement>("#new-project").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const ws = state.workspace;
  if (!ws) return;
  clearErrors(form);
  const description = field(form, "description").value;
  const res = await attempt(() =>
    api.POST("/projects", {
      body: { name: field(form, "name").value, description: description || null, workspaceId: ws.id },
    }),
  );
  if (!res) return;
  if (res.error) return showError(res.error, form);
  form.reset();
  await loadProjects();
});

function startEditing(project: Project): void {
  state.editing = project;
  const form = el<HTMLFormElement>("#edit-project");
  clearErrors(form);
  field(form, "name").value = project.name;
  field(form, "description").value = project.description ?? "";
  form.hidden = false;
}

el<HTMLFormElement>("#edit-project").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const project = state.editing;
  if (!project) return;
  clearErrors(form);
  const description = field(form, "description").value;
  const res = await attempt(() =>
    api.PATCH("/projects/{id}", {
      params: { path: { id: project.id } },
      body: { name: field(form, "name").value, description: description || null },
    }),
  );
  if (!res) return;
  if (res.error) return showError(res.error, form);
  form.hidden = true;
  state.editing = null;
  await loadProjects();
});

el("#edit-project [data-action=cancel]").addEventListener("click", () => {
  el("#edit-project").hidden = true;
  state.editing = null;
});

// --- Uploads: a presigned PUT straight to S3, with progress ---------------------------

/** Headers the browser sets itself and refuses from scripts. */
const FORBIDDEN_HEADERS = new Set(["host", "content-length", "connection"]);

function putToStorage(request: ClientRequest, file: File, onProgress: (percent: number) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(request.method, request.url);
    for (const [name, value] of Object.entries(request.headers)) {
      if (!FORBIDDEN_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((100 * e.loaded) / e.total));
    };
    xhr.onload = () => resolve(xhr.status);
    xhr.onerror = () => reject(new Error("the upload to storage failed"));
    xhr.send(file);
  });
}

el<HTMLFormElement>("#upload").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  clearErrors(form);
  const file = el<HTMLInputElement>('[data-testid="upload-file"]').files?.[0];
  const status = el("#upload-status");
  const progress = el<HTMLProgressElement>("#upload-progress");
  const image = el<HTMLImageElement>("#upload-image");
  image.hidden = true;
  progress.value = 0;
  if (!file) {
    status.textContent = "Choose a PNG, JPEG or WebP image first";
    return;
  }
  status.textContent = "Creating the upload…";
  const created = await attempt(() =>
    api.POST("/uploads", {
      body: {
        filename: file.name,
        contentType: file.type as Schema<"NewUpload">["contentType"],
        size: file.size,
      },
    }),
  );
  if (!created) return;
  if (created.error) {
    status.textContent = "Refused";
    return showError(created.error, form);
  }
  const upload = created.data.data;
  status.dataset.uploadId = upload.id;
  status.textContent = "Uploading…";
  let stored: number;
  try {
    stored = await putToStorage(upload.uploadRequest, file, (percent) => (progress.value = percent));
  } catch {
    status.textContent = "The upload to storage failed";
    return;
  }
  if (stored < 200 || stored >= 300) {
    status.textContent = `Storage refused the upload (${stored})`;
    return;
  }
  progress.value = 100;
  status.textContent = "Checking the file…";
  const done = await attempt(() =>
    api.POST("/uploads/{id}/complete", { params: { path: { id: upload.id } } }),
  );
  if (!done) return;
  if (done.error) {
    status.textContent = "Rejected";
    return showError(done.error, form);
  }
  const ready = done.data.data;
  status.textContent = `Ready: ${ready.filename} (${ready.size} bytes)`;
  if (ready.download) {
    image.src = ready.download.url;
    image.hidden = false;
  }
});

// --- Server-sent events --------------------------------------------------------------

el("#watch").addEventListener("click", () => {
  const events = el("#events");
  const status = el("#stream-status");
  events.replaceChildren();
  status.textContent = "Connecting…";
  // EventSource cannot send a header: the session cookie authenticates it.
  const source = new EventSource(`${STREAM_URL}?count=5&intervalMs=200`, { withCredentials: true });
  let finished = false;
  source.onmessage = (message: MessageEvent<string>) => {
    if (message.data === "[DONE]") {
      finished = true;
      source.close();
      status.textContent = "Done";
      return;
    }
    const progress = JSON.parse(message.data) as StreamProgress;
    status.textContent = "Streaming…";
    const item = document.createElement("li");
    item.dataset.testid = "event";
    item.textContent = `${progress.seq} of ${progress.total} at ${progress.at}`;
    events.append(item);
  };
  source.onerror = () => {
    source.close();
    if (!finished) status.textContent = "The stream failed (signed in?)";
  };
});

readRedirect();
void loadMe();
