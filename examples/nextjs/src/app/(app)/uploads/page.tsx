import { read, serverApi } from "@/lib/api";

import { UploadForm } from "./upload-form";

/** The user's uploads, newest first (their download URLs are GET /uploads/{id}'s), and a
 * form that adds one. */
export default async function UploadsPage() {
  const api = await serverApi();
  const data = read(await api.GET("/uploads", { params: { query: { page: 1, pageSize: 10 } } }));
  return (
    <>
      <section>
        <h2>Upload an image</h2>
        <UploadForm />
      </section>
      <section>
        <h2>Your uploads</h2>
        <ul data-testid="uploads">
          {data.data.map((u) => (
            <li key={u.id} data-testid="upload" data-upload-id={u.id} data-status={u.status}>
              {u.filename}: {u.status}
              {u.rejectionReason ? ` (${u.rejectionReason})` : ""}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
