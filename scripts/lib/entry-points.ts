// What `bun build --compile` bundles into the executable: the command line, and the code of the --workers
// threads (a Worker's entry is only in the executable when it is an entry point; src/server/workers/pool.ts
// finds it there by its path from src/). The release build and the compiled-executable tests both use this.

import { join } from "node:path";

export function entryPoints(root: string): string[] {
  return [join(root, "src", "main.ts"), join(root, "src", "server", "workers", "worker-main.ts")];
}
