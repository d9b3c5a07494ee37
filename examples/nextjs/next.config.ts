import { fileURLToPath } from "node:url";

import type { NextConfig } from "next";

const config: NextConfig = {
  // The typed client is imported from clients/typescript/src (tsconfig.json's paths), outside
  // this folder: the repository is the root the bundler may read from.
  turbopack: { root: fileURLToPath(new URL("../..", import.meta.url)) },
  outputFileTracingRoot: fileURLToPath(new URL("../..", import.meta.url)),
  poweredByHeader: false,
  // `next dev` would otherwise write an AGENTS.md of upgrade notes into this folder.
  experimental: { agentUpgrade: false },
  reactStrictMode: true,
  // Every page: not framed by other sites, no MIME sniffing, no address sent to other sites.
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Frame-Options", value: "DENY" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
        ],
      },
    ];
  },
};

export default config;
