import { EXIT_CODE_MEANINGS } from "../base/exit-codes.js";
import { FIELDS } from "../config/fields.js";
import { type ObjectSchema, type Schema, toJsonSchema } from "../base/schema.js";
import { eventSchemas } from "../engine/events.js";
import { EXIT_OF_OUTCOME } from "../engine/outcomes.js";
import { COMMAND_SETTINGS, COMMANDS, type Command } from "./args.js";
import { commandFlagRows, usageOf } from "./help.js";

/**
 * The parts of docs/ that are the code's own tables, as `npm run docs` writes them: the events'
 * JSON Schema, the events and exit codes of docs/output.md, each command's flags in
 * docs/commands.md. A unit test fails when a committed page differs from what this generates.
 */

/** docs/events.schema.json: every line `--output json` writes is one of these. */
export function eventsJsonSchema(): string {
  const events = eventSchemas();
  const doc = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://github.com/mathison/mathison-install/docs/events.schema.json",
    title: "mathison-install --output json events",
    description:
      "One JSON object per line; `event` names which. `done` is every command's last event, and its `ok` agrees with the exit code. Fields are added, never renamed or removed.",
    oneOf: Object.keys(events).map((name) => ({ $ref: `#/$defs/${name}` })),
    $defs: Object.fromEntries(Object.entries(events).map(([name, s]) => [name, toJsonSchema(s)])),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** docs/output.md's event table: each event's fields, with what each means where it needs saying. */
export function eventTable(): string[] {
  const rows = Object.entries(eventSchemas()).map(([name, s]) => {
    const fields = Object.entries(s.properties)
      .filter(([k]) => k !== "ts" && k !== "event")
      .map(([k, f]) => fieldCell(k, f, s))
      .join("; ");
    return `| \`${name}\`${s.description ? `: ${s.description}` : ""} | ${fields} |`;
  });
  return ["| event | fields |", "|---|---|", ...rows];
}

function fieldCell(key: string, f: Schema, parent: ObjectSchema): string {
  const optional = parent.optional.includes(key) ? " (optional)" : "";
  const values = "enum" in f ? ` (${f.enum.map((v) => `\`${v}\``).join("/")})` : "";
  const inner =
    f.type === "array" && f.items.type === "object"
      ? `: [{${Object.keys(f.items.properties).join(", ")}}]`
      : f.type === "object" && !f.open
        ? `: {${Object.keys(f.properties).join(", ")}}`
        : "";
  const what = f.description ? ` — ${f.description}` : "";
  return `\`${key}\`${values}${inner}${optional}${what.replaceAll("|", "\\|")}`;
}

/** docs/output.md's exit code table. */
export function exitCodeTable(): string[] {
  const outcomesOf = (code: number) =>
    Object.entries(EXIT_OF_OUTCOME)
      .filter(([, c]) => c === code)
      .map(([o]) => `\`${o}\``)
      .join(", ");
  return [
    "| code | meaning | `done`'s outcome |",
    "|---|---|---|",
    ...Object.entries(EXIT_CODE_MEANINGS).map(
      ([code, m]) => `| ${code} | ${m.meaning} | ${outcomesOf(Number(code))} |`,
    ),
  ];
}

/** docs/commands.md's synopsis: each command's usage line, as its --help starts. */
export function commandSynopsis(): string[] {
  return ["```", ...COMMANDS.map((c) => `mathison-install ${usageOf(c).usage}`), "```"];
}

/** docs/commands.md: each command's flags as its --help lists them, and which settings it takes. */
export function commandFlags(): string[] {
  return COMMANDS.flatMap((command: Command) => [
    `### ${command}`,
    "",
    `${usageOf(command).summary}.`,
    "",
    "| flag | what it does |",
    "|---|---|",
    ...commandFlagRows(command).map(([flag, what]) => `| \`${flag}\` | ${what.replaceAll("|", "\\|")} |`),
    "",
    COMMAND_SETTINGS[command] === "all"
      ? "Settings: every one of [settings.md](settings.md), and `--values FILE`."
      : "Settings: `--namespace` (and `--values FILE`) only; any other setting is refused by name (exit 2).",
    "",
  ]);
}

/** docs/settings.md's table: every setting's flag, environment variable, values key, default and what is allowed. */
export function settingsTable(): string[] {
  return [
    "| flag | env | values key | default | allowed |",
    "|---|---|---|---|---|",
    ...FIELDS.map((f) => `| \`${f.flag}\` | \`${f.env}\` | \`${f.key}\` | ${f.shownDefault} | ${f.allowed} |`),
  ];
}

/** A page with each generated block (between `<!-- generated: NAME -->` and `<!-- end: NAME -->`) as the code makes it now. */
export function withGenerated(page: string, blocks: Readonly<Record<string, readonly string[]>>): string {
  let out = page;
  for (const [name, lines] of Object.entries(blocks)) {
    const start = `<!-- generated: ${name} (npm run docs) -->`;
    const end = `<!-- end: ${name} -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`the page has no block ${name} (${start} … ${end})`);
    out = `${out.slice(0, from + start.length)}\n${lines.join("\n")}\n${out.slice(to)}`;
  }
  return out;
}

/** Every generated page, as path → its content from the committed page `read` gives. */
export function generatedPages(read: (path: string) => string): Record<string, string> {
  return {
    "docs/events.schema.json": eventsJsonSchema(),
    "docs/output.md": withGenerated(read("docs/output.md"), { events: eventTable(), "exit-codes": exitCodeTable() }),
    "docs/settings.md": withGenerated(read("docs/settings.md"), { settings: settingsTable() }),
    "docs/commands.md": withGenerated(read("docs/commands.md"), {
      synopsis: commandSynopsis(),
      flags: commandFlags(),
    }),
  };
}
