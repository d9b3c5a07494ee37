import type { Metadata } from "next";
import type { ReactNode } from "react";

import { Hydrated } from "@/components/hydrated";

import "./globals.css";

export const metadata: Metadata = {
  title: "supa-lambda on Next.js",
  description: "A Next.js App Router app on the supa-lambda API",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        {children}
        <Hydrated />
      </body>
    </html>
  );
}
