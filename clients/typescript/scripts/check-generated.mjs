// Fails when src/schema.d.ts is not what openapi-typescript writes from ../../openapi.json
// (run `npm run generate` after `make routes`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "schema-"));
try {
  const fresh = join(dir, "schema.d.ts");
  execFileSync("npx", ["--no-install", "openapi-typescript", "../../openapi.json", "--output", fresh], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (readFileSync(fresh, "utf8") !== readFileSync("src/schema.d.ts", "utf8")) {
    console.error("clients/typescript/src/schema.d.ts is stale: run `npm run generate` in clients/typescript");
    process.exit(1);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
