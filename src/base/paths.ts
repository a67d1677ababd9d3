import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package root (manifests/ and package.json): the nearest directory above this file with a
 * package.json. Compiled sources (dist/src/base/) and the bundle (dist/bundle/, flat) sit at
 * different depths; both find it.
 */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "manifests"))) return dir;
    if (dirname(dir) === dir) throw new Error(`mathison-install: no package root above ${from}`);
  }
}

export const PACKAGE_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));
export const MANIFESTS_DIR = join(PACKAGE_ROOT, "manifests");
