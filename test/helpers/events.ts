import { problemsOf } from "../../src/base/schema.js";
import { eventSchemas, type RunOutcome } from "../../src/engine/events.js";
import { EXIT_OF_OUTCOME } from "../../src/engine/outcomes.js";

/**
 * What in a run's `--output json` stream breaks the published contract: an event that does not
 * fit docs/events.schema.json, and — for a run that ended by itself (not killed) — anything but
 * exactly one `done`, last, whose `ok` and `outcome` agree with the exit code. Empty when the
 * stream keeps it.
 */
export function contractProblems(events: readonly any[], exitCode: number | null): string[] {
  const schemas = eventSchemas();
  const problems = events.flatMap((e, i) => {
    const schema = schemas[e?.event];
    if (!schema) return [`event ${i}: ${JSON.stringify(e?.event)} is not an event of the schema`];
    return problemsOf(schema, e, `event ${i} (${e.event})`);
  });
  if (exitCode === null) return problems;
  const done = events.filter((e) => e?.event === "done");
  if (done.length !== 1) problems.push(`${done.length} done events; every run ends with exactly one`);
  else if (events.at(-1) !== done[0]) problems.push(`done is not the last event (${events.at(-1)?.event} is)`);
  else if (done[0].ok !== (exitCode === 0))
    problems.push(`done.ok is ${done[0].ok} and the exit code ${exitCode}: they must agree`);
  else if (EXIT_OF_OUTCOME[done[0].outcome as RunOutcome] !== exitCode)
    problems.push(
      `done.outcome is ${done[0].outcome} (exit ${EXIT_OF_OUTCOME[done[0].outcome as RunOutcome]}) and the exit code ${exitCode}: they must agree`,
    );
  return problems;
}

type JsonSchema = {
  type?: string;
  enum?: string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  $defs?: Record<string, JsonSchema>;
};

/**
 * What a reader of the `released` schema would find broken in `current`: an event, a field or an
 * allowed value gone, a type changed, a field that was always there made optional. Adding events,
 * fields and values is not breaking.
 */
export function breakingChanges(released: JsonSchema, current: JsonSchema): string[] {
  const out: string[] = [];
  for (const [name, was] of Object.entries(released.$defs ?? {})) {
    const now = current.$defs?.[name];
    if (!now) out.push(`event ${name}: removed`);
    else compare(was, now, name, out);
  }
  return out;
}

function compare(was: JsonSchema, now: JsonSchema, path: string, out: string[]): void {
  if (was.type !== now.type) {
    out.push(`${path}: type ${was.type} became ${now.type}`);
    return;
  }
  for (const v of was.enum ?? []) if (!now.enum?.includes(v)) out.push(`${path}: value ${JSON.stringify(v)} removed`);
  if (was.items && now.items) compare(was.items, now.items, `${path}[]`, out);
  for (const [key, field] of Object.entries(was.properties ?? {})) {
    const next = now.properties?.[key];
    if (!next) {
      out.push(`${path}.${key}: removed (or renamed)`);
      continue;
    }
    if (was.required?.includes(key) && !now.required?.includes(key)) out.push(`${path}.${key}: no longer always there`);
    compare(field, next, `${path}.${key}`, out);
  }
}
