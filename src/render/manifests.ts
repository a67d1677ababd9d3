import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { MANIFESTS_DIR } from "../paths.js";
import type { KubeObject } from "./objects.js";
import { MANIFEST_FILES } from "./stages.js";

export type ManifestSet = ReadonlyMap<string, readonly KubeObject[]>;

/** Parses every manifest file the stages name; the only I/O render does. */
export function loadManifests(dir: string = MANIFESTS_DIR): ManifestSet {
  const set = new Map<string, KubeObject[]>();
  for (const file of MANIFEST_FILES) {
    const docs = parseAllDocuments(readFileSync(join(dir, file), "utf8"));
    const objects: KubeObject[] = [];
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`manifests/${file}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as KubeObject | null;
      if (obj) objects.push(obj);
    }
    set.set(file, objects);
  }
  return set;
}
