// The dashboard: web/index.html and everything it imports (TypeScript, ECharts, CSS), bundled by Bun. Loaded
// only through a dynamic import (see app.ts), so a build with WITH_DASHBOARD=false contains none of it.
//
// Every dashboard response carries security headers (SECURITY_HEADERS: a strict Content-Security-Policy,
// nosniff, no framing). Bun 1.4.4 cannot add headers to an HTML import it serves itself, so we always serve
// the files ourselves: in a compiled executable the bundle is embedded (page.files); run from source, the page
// is bundled with Bun.build on its first request (as Bun would do for the HTML import), its assets under
// /assets/. The page gets no-cache and an ETag (so a new version shows at once), the hashed assets a one-year
// immutable cache. Only GET and HEAD are routed here; http-server.ts answers other methods with 405.

import { basename } from "node:path";
import page from "../../web/index.html";
import type { RouteValue } from "./http-server.ts";

export type DashboardRoutes = Record<string, RouteValue>;

/**
 * What the page may load: its own scripts, styles and API, nothing else, and it may not be framed.
 * - script-src 'self': the bundle is one external module; no inline script, no eval.
 * - style-src 'self', style-src-attr 'unsafe-inline': the stylesheet is external and no <style> element is
 *   allowed, but ECharts' SVG renderer writes `style` attributes (setAttribute, e.g. the SVG's position),
 *   which CSP blocks as inline styles without this. Style attributes cannot run code. (A browser without
 *   CSP 3's style-src-attr falls back to style-src and drops those attributes.)
 * - img-src data:: the favicon is an inline SVG data URL.
 * - connect-src 'self': the API polls.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY", // frame-ancestors 'none' for browsers that predate CSP 2
  "referrer-policy": "no-referrer",
};

const PAGE_CACHE = "no-cache"; // always revalidate (cheap: ETag), so a new version shows at once
const ASSET_CACHE = "public, max-age=31536000, immutable"; // names carry a content hash
const ASSETS = "/assets/";

export async function dashboardRoutes(): Promise<DashboardRoutes> {
  return page.files === undefined ? sourceRoutes() : embeddedRoutes(page.files, page.index);
}

/** A compiled executable: the embedded files as static responses (Bun adds the ETag and answers 304). */
async function embeddedRoutes(files: NonNullable<Bun.HTMLBundle["files"]>, index: string): Promise<DashboardRoutes> {
  const routes: DashboardRoutes = {};
  for (const f of files) {
    const isPage = f.path === index;
    const res = new Response(await Bun.file(f.path).bytes(), {
      headers: { ...f.headers, ...SECURITY_HEADERS, "cache-control": isPage ? PAGE_CACHE : ASSET_CACHE },
    });
    routes[isPage ? "/" : `/${basename(f.path)}`] = { GET: res, HEAD: res };
  }
  return routes;
}

interface Built {
  html: Uint8Array;
  etag: string;
  assets: Map<string, { bytes: Uint8Array; type: string }>;
}

/** Run from source: bundle on the first request, once, and serve from memory. */
function sourceRoutes(): DashboardRoutes {
  let built: Promise<Built> | null = null;
  const build = () => (built ??= bundle().catch((err) => ((built = null), Promise.reject(err))));
  const pageHandler = async (req: Request) => {
    const b = await build();
    const headers = {
      ...SECURITY_HEADERS,
      "content-type": "text/html;charset=utf-8",
      "cache-control": PAGE_CACHE,
      etag: b.etag,
    };
    if (req.headers.get("if-none-match") === b.etag) return new Response(null, { status: 304, headers });
    return new Response(b.html, { headers });
  };
  const assetHandler = async (req: Request) => {
    const b = await build();
    const asset = b.assets.get(new URL(req.url).pathname.slice(ASSETS.length));
    if (asset === undefined)
      return new Response("not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
    return new Response(asset.bytes, {
      headers: { ...SECURITY_HEADERS, "content-type": asset.type, "cache-control": ASSET_CACHE },
    });
  };
  return { "/": { GET: pageHandler, HEAD: pageHandler }, [`${ASSETS}*`]: { GET: assetHandler, HEAD: assetHandler } };
}

async function bundle(): Promise<Built> {
  const out = await Bun.build({
    entrypoints: [page.index],
    target: "browser",
    minify: true,
    publicPath: "/",
    naming: {
      entry: "assets/[name]-[hash].[ext]",
      chunk: "assets/[name]-[hash].[ext]",
      asset: "assets/[name]-[hash].[ext]",
    },
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
  });
  let html: Uint8Array | null = null;
  let etag = "";
  const assets = new Map<string, { bytes: Uint8Array; type: string }>();
  for (const o of out.outputs) {
    const bytes = new Uint8Array(await o.arrayBuffer());
    if (o.path.endsWith(".html")) {
      html = bytes;
      etag = `"${Bun.hash(bytes).toString(36)}"`;
    } else assets.set(basename(o.path), { bytes, type: o.type });
  }
  if (html === null) throw new Error("dashboard bundle has no page");
  return { html, etag, assets };
}
