import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

// Compiled files live in dist/src/…; the package root holds manifests/ and package.json.
const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_ROOT = join(here, "..", "..");
export const MANIFESTS_DIR = join(PACKAGE_ROOT, "manifests");
