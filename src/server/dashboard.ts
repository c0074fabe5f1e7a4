// The dashboard: web/index.html and everything it imports (TypeScript, ECharts, CSS), bundled by Bun and
// embedded in the executable. Loaded only through a dynamic import (see app.ts), so a build with
// WITH_DASHBOARD=false contains none of it. Bun serves the page with no-cache and an ETag, and the hashed
// assets with a one-year immutable cache.

import page from "../../web/index.html";

export function dashboardRoutes(): Record<string, typeof page> {
  return { "/": page };
}
