// What the browser tests of both example apps (examples/web, examples/nextjs) share: the
// Chromium they launch, the files they upload, and how they look at the stack afterwards
// (the database with psql, the S3 server's folder, the Auth stand-in's mailbox). Plain
// Node.js, no packages: each app's test imports it by path.
//
// Reads TEST_DATABASE_URL, S3_ROOT, UPLOADS_BUCKET, SUPABASE_URL and
// SUPABASE_SERVICE_ROLE_KEY (the Auth stand-in and its mailbox).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import zlib from "node:zlib";

/** Debian's Chromium, headless, without the network chatter of a desktop browser. */
export const CHROMIUM = {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

/** One value of the test database (psql). */
export function sql(query) {
  return execFileSync("psql", [process.env.TEST_DATABASE_URL, "-XAtqc", query], { encoding: "utf8" }).trim();
}

/** Which of an upload's objects the S3 server's folder holds: "pending", "files". */
export function objectsOf(uploadId) {
  const root = join(process.env.S3_ROOT, process.env.UPLOADS_BUCKET);
  const owner = sql(`select owner_id from public.uploads where id = '${uploadId}'`);
  return ["pending", "files"].filter((prefix) => existsSync(join(root, prefix, owner, uploadId)));
}

/** The newest email the Auth stand-in "sent" to `email`, and its link as the template makes it. */
export async function newestLink(email) {
  const key = process.env.SUPABASE_SERVICE_ROLE_KEY;
  const res = await fetch(`${process.env.SUPABASE_URL}/auth/v1/_dev/mailbox?email=${encodeURIComponent(email)}`, {
    headers: { authorization: `Bearer ${key}`, apikey: key },
  });
  assert.equal(res.status, 200);
  const [mail] = await res.json();
  return { mail, link: `${mail.redirectTo}&token_hash=${mail.tokenHash}&type=${mail.type}` };
}

// --- Images ----------------------------------------------------------------------------

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
/** A real 4x3 RGB PNG. */
export function png() {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(4, 0);
  ihdr.writeUInt32BE(3, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  // Each row: filter byte 0, then four RGB pixels (a small colour ramp).
  const colours = [
    [0x1f, 0x6f, 0xeb], [0x2d, 0xa4, 0x4e], [0xf7, 0xb9, 0x2a], [0xcf, 0x22, 0x2e],
  ];
  const rows = Buffer.concat(
    Array.from({ length: 3 }, (_, y) => Buffer.from([0, ...colours.flatMap((c) => c.map((v) => v >> y))])),
  );
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
/** A GIF's bytes: what a renamed .gif really is. */
export const GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
