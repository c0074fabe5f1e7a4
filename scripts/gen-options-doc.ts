// Writes docs/options.md from the option table: bun scripts/gen-options-doc.ts
import { join } from "node:path";
import { optionsDoc } from "../src/config/options-doc.ts";

await Bun.write(join(import.meta.dir, "..", "docs", "options.md"), optionsDoc());
