"use client";

import type { ApiError, Schema } from "@supa-lambda/client";
import { useState, type FormEvent } from "react";

import { Banner, FieldError } from "@/components/field-error";

import { finishUpload, startUpload } from "./actions";

/** Headers the browser sets itself and refuses from a script. */
const FORBIDDEN_HEADERS = new Set(["host", "content-length"]);

/** PUTs the file with the presigned request, reporting progress (XMLHttpRequest: fetch
 * has no upload progress). Resolves with the storage's status. */
function putToStorage(request: Schema<"ClientRequest">, file: File, onProgress: (percent: number) => void) {
  return new Promise<number>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(request.method, request.url);
    for (const [name, value] of Object.entries(request.headers)) {
      if (!FORBIDDEN_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(Math.round((100 * e.loaded) / e.total));
    xhr.onload = () => resolve(xhr.status);
    xhr.onerror = () => reject(new Error("the upload to storage failed"));
    xhr.send(file);
  });
}

export function UploadForm() {
  const [status, setStatus] = useState("");
  const [uploadId, setUploadId] = useState<string>();
  const [progress, setProgress] = useState(0);
  const [error, setError] = useState<ApiError>();
  const [image, setImage] = useState<string>();

  async function upload(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const file = new FormData(event.currentTarget).get("file");
    setError(undefined);
    setImage(undefined);
    setProgress(0);
    if (!(file instanceof File) || file.size === 0) return setStatus("Choose a PNG, JPEG or WebP image first");
    setStatus("Creating the upload…");
    const created = await startUpload(
      { filename: file.name, contentType: file.type as Schema<"NewUpload">["contentType"], size: file.size },
      crypto.randomUUID(),
    );
    if (!created.ok) {
      setStatus("Refused");
      return setError(created.error);
    }
    const { id, uploadRequest } = created.value;
    setUploadId(id);
    setStatus("Uploading…");
    const stored = await putToStorage(uploadRequest, file, setProgress).catch(() => 0);
    if (stored < 200 || stored >= 300) return setStatus(`Storage refused the upload (${stored})`);
    setProgress(100);
    setStatus("Checking the file…");
    const done = await finishUpload(id);
    if (!done.ok) {
      setStatus("Rejected");
      setError(done.error);
    } else {
      setStatus(`Ready: ${done.value.filename} (${done.value.size} bytes)`);
      // A presigned GET of the verified file.
      setImage(done.value.download?.url);
    }
    // finishUpload revalidated /uploads: the list below is already the new one.
  }

  return (
    <form method="post" onSubmit={upload} data-testid="upload-form">
      <Banner error={error} />
      <label>
        Image <input type="file" name="file" accept="image/png,image/jpeg,image/webp" data-testid="upload-file" />
        <FieldError error={error} field="contentType" />
        <FieldError error={error} field="size" />
      </label>
      <progress max={100} value={progress} data-testid="upload-progress" />
      <p data-testid="upload-status" data-upload-id={uploadId}>
        {status}
      </p>
      <button type="submit">Upload</button>
      {image && <img className="upload" src={image} alt="The uploaded file" data-testid="upload-image" />}
    </form>
  );
}
