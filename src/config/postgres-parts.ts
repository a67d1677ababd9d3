import { fieldSpec } from "./fields.js";
import type { RawSource, RawValue } from "./sources.js";
import type { ConfigProblem } from "./types.js";

const PARTS = ["postgresHost", "postgresPort", "postgresDatabase", "postgresUser"] as const;
const NEEDED = ["postgresHost", "postgresDatabase", "postgresUser"] as const;

/**
 * `--postgres-host`, `--postgres-port`, `--postgres-database` and `--postgres-user`: your own
 * PostgreSQL by its parts, as some consoles show it. They become the URL the rest of the installer
 * reads (a source of its own, first, named by the host's field) and are dropped from the sources:
 * the install records the URL, so `--postgres-url ""` alone moves the data back later.
 */
export function partsAsUrl(sources: readonly RawSource[]): { sources: RawSource[]; problems: ConfigProblem[] } {
  const pick = (key: (typeof PARTS)[number] | "postgresUrl"): RawValue | undefined =>
    sources.map((s) => s[key]).find((v) => v !== undefined);
  const given = PARTS.map((key) => pick(key)).filter((v): v is RawValue => v !== undefined);
  if (given.length === 0) return { sources: [...sources], problems: [] };
  const stripped = sources.map((s) => {
    const copy = { ...s };
    for (const key of PARTS) delete copy[key];
    return copy;
  });
  const invalid = PARTS.flatMap((key) => {
    const v = pick(key);
    const why = v && fieldSpec(key).validate(v.value);
    return v && why ? [{ field: v.field, shownValue: JSON.stringify(v.value), allowed: why }] : [];
  });
  if (invalid.length > 0) return { sources: stripped, problems: invalid };
  const url = pick("postgresUrl");
  if (url)
    return {
      sources: stripped,
      problems: [
        {
          field: given[0]!.field,
          shownValue: JSON.stringify(given[0]!.value),
          allowed: `not together with ${url.field}: give your own PostgreSQL as a URL or as its parts`,
        },
      ],
    };
  const missing = NEEDED.filter((key) => pick(key) === undefined);
  if (missing.length > 0)
    return {
      sources: stripped,
      problems: missing.map((key) => ({
        field: fieldSpec(key).flag,
        shownValue: undefined,
        allowed: `your own PostgreSQL by its parts needs ${NEEDED.map((k) => fieldSpec(k).flag).join(", ")} (and --postgres-port unless 5432), or --postgres-url`,
      })),
    };
  const host = pick("postgresHost")!;
  const port = pick("postgresPort")?.value ?? "5432";
  const address = host.value.includes(":") ? `[${host.value}]` : host.value;
  const user = encodeURIComponent(pick("postgresUser")!.value);
  const database = encodeURIComponent(pick("postgresDatabase")!.value);
  const value = `postgres://${user}@${address}:${port}/${database}`;
  return { sources: [{ postgresUrl: { value, field: host.field } }, ...stripped], problems: [] };
}
