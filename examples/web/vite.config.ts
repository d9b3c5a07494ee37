import { fileURLToPath } from "node:url";

import { defineConfig } from "vite";

// The typed client is the repository's own package, used from its source.
export default defineConfig({
  resolve: {
    alias: {
      "@supa-lambda/client": fileURLToPath(new URL("../../clients/typescript/src/index.ts", import.meta.url)),
    },
  },
  server: { host: "localhost", port: 5173, strictPort: true },
  build: { outDir: "dist", emptyOutDir: true },
});
