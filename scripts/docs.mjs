// `npm run docs`: writes the pages (and parts of pages) docs/ takes from the code; see src/cli/docs-pages.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const { generatedPages } = await import(join(root, "dist/src/cli/docs-pages.js"));
const read = (path) => readFileSync(join(root, path), "utf8");
for (const [path, content] of Object.entries(generatedPages(read))) {
  const before = (() => {
    try {
      return read(path);
    } catch {
      return "";
    }
  })();
  if (before === content) continue;
  writeFileSync(join(root, path), content);
  console.log(`wrote ${path}`);
}
