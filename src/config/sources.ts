import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parse as parseYaml } from "yaml";
import { FIELDS, FIELD_KEYS, type FieldKey } from "./fields.js";
import type { ConfigProblem } from "./types.js";
import { closest } from "../base/closest.js";
import { fileProblem } from "../base/file-errors.js";

/** A value as one source gave it, with the name the user knows it by (for error lines). */
export interface RawValue {
  readonly value: string;
  readonly field: string;
  /** The install's own value (its record or its Secret), not one this run was given. */
  readonly fromInstall?: boolean;
}
export type RawSource = Partial<Record<FieldKey, RawValue>>;
export interface SourceResult {
  readonly source: RawSource;
  readonly problems: readonly ConfigProblem[];
}

/** Flags as parsed (`{ domain: "x", "anthropic-api-key-file": "/path" }`); secret flags name files. */
export function flagSource(flags: Readonly<Record<string, string | undefined>>): SourceResult {
  const source: RawSource = {};
  const problems: ConfigProblem[] = [];
  for (const spec of FIELDS) {
    const given = flags[spec.flag.slice(2)];
    if (given === undefined) continue;
    if (!spec.secret) {
      source[spec.key] = { value: given, field: spec.flag };
      continue;
    }
    try {
      source[spec.key] = { value: readSecretFile(given), field: spec.flag };
    } catch (err) {
      problems.push({
        field: spec.flag,
        shownValue: JSON.stringify(given),
        allowed: `a readable file; this one ${fileProblem(err)}`,
      });
    }
  }
  return { source, problems };
}

/** The file's content without the trailing newline an editor or `echo` leaves. */
function readSecretFile(path: string): string {
  return readFileSync(path, "utf8").replace(/\r?\n$/, "");
}

export function envSource(env: Readonly<Record<string, string | undefined>>): RawSource {
  const source: RawSource = {};
  for (const spec of FIELDS) {
    const given = env[spec.env];
    if (given !== undefined && given !== "") source[spec.key] = { value: given, field: spec.env };
  }
  return source;
}

/** A YAML mapping with the config's keys (`domain: …`, `webReplicas: 3`, …). */
export function valuesFileSource(path: string): SourceResult {
  const name = basename(path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    return {
      source: {},
      problems: [
        {
          field: "--values",
          shownValue: JSON.stringify(path),
          allowed: `a readable YAML file; this one ${fileProblem(err)}`,
        },
      ],
    };
  }
  return valuesSource(text, name);
}

export function valuesSource(text: string, name: string): SourceResult {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const firstLine = String((err as Error).message).split("\n")[0];
    return { source: {}, problems: [{ field: name, shownValue: "(unparsable)", allowed: `YAML: ${firstLine}` }] };
  }
  if (doc === null || doc === undefined) return { source: {}, problems: [] };
  if (typeof doc !== "object" || Array.isArray(doc)) {
    return {
      source: {},
      problems: [{ field: name, shownValue: "(not a mapping)", allowed: `a YAML mapping of ${FIELD_KEYS.join(", ")}` }],
    };
  }
  const source: RawSource = {};
  const problems: ConfigProblem[] = [];
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const field = `${name}: ${key}`;
    if (!(FIELD_KEYS as readonly string[]).includes(key)) {
      const near = closest(key, FIELD_KEYS);
      problems.push({
        field,
        shownValue: "(unknown key)",
        allowed: `${near ? `did you mean ${near}? ` : ""}one of ${FIELD_KEYS.join(", ")}`,
      });
      continue;
    }
    if (value === null || value === undefined) continue;
    if (typeof value !== "string" && typeof value !== "number") {
      problems.push({ field, shownValue: JSON.stringify(value), allowed: "a string or number" });
      continue;
    }
    source[key as FieldKey] = { value: String(value), field };
  }
  return { source, problems };
}
