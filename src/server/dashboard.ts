// The dashboard: web/index.html and everything it imports (TypeScript, ECharts, CSS), bundled by Bun. Loaded
// only through a dynamic import (see app.ts), so a build with WITH_DASHBOARD=false contains none of it.
//
// Run from source, Bun bundles the page at start-up and serves it itself (the page with no-cache and an ETag,
// the hashed assets with a one-year immutable cache). In a compiled executable the bundle is embedded, but
// Bun 1.4.4 then serves it without Cache-Control, so we serve the embedded files ourselves with the same
// headers.

import { basename } from "node:path";
import page from "../../web/index.html";

export type DashboardRoutes = Record<string, Bun.HTMLBundle | Response>;

const PAGE_CACHE = "no-cache"; // always revalidate (cheap: ETag), so a new version shows at once
const ASSET_CACHE = "public, max-age=31536000, immutable"; // names carry a content hash

export async function dashboardRoutes(): Promise<DashboardRoutes> {
  if (page.files === undefined) return { "/": page };
  const routes: DashboardRoutes = {};
  for (const f of page.files) {
    const isPage = f.path === page.index;
    const headers = { ...f.headers, "cache-control": isPage ? PAGE_CACHE : ASSET_CACHE };
    routes[isPage ? "/" : `/${basename(f.path)}`] = new Response(await Bun.file(f.path).bytes(), { headers });
  }
  return routes;
}
