"use client";

import { useEffect } from "react";

/** Marks the page once React has hydrated it (`<html data-hydrated>`): the browser tests
 * wait for it before they type and click, as a person cannot act on a page sooner than
 * its scripts. */
export function Hydrated() {
  useEffect(() => {
    document.documentElement.dataset.hydrated = "true";
  }, []);
  return null;
}
