import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { MANIFEST_FILES } from "./stages.js";
import { MANIFESTS_DIR } from "../base/paths.js";
import type { KubeObject } from "../facts/objects.js";

export type ManifestSet = ReadonlyMap<string, readonly KubeObject[]>;

/**
 * The published bundle carries manifests/ parsed at build time (scripts/bundle.mjs defines it):
 * parsing the YAML costs about 40 ms of every start. Compiled sources (tsc) have none and parse.
 */
declare const __MATHISON_MANIFESTS_JSON__: string | undefined;
const PARSED_AT_BUILD = typeof __MATHISON_MANIFESTS_JSON__ === "string" ? __MATHISON_MANIFESTS_JSON__ : undefined;

/** Parses every manifest file the stages name; the only I/O render does. */
export function loadManifests(dir: string = MANIFESTS_DIR): ManifestSet {
  if (PARSED_AT_BUILD && dir === MANIFESTS_DIR)
    return new Map(Object.entries(JSON.parse(PARSED_AT_BUILD) as Record<string, KubeObject[]>));
  return parseManifests(dir);
}

/** The manifest files as YAML documents: what the bundle script snapshots, and what sources read. */
export function parseManifests(dir: string): Map<string, KubeObject[]> {
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
