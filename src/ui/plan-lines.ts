import type { EngineEvent, PlannedChange } from "../engine/events.js";
import type { InstallRecord, InstalledSummary } from "../record/install-record.js";

type PlanEvent = Extract<EngineEvent, { event: "plan" }>;

const SIGN: Record<PlannedChange["action"], string> = {
  create: "+",
  change: "~",
  unchanged: " ",
  replace: "±",
  delete: "-",
};
const WORD: Record<PlannedChange["action"], string> = {
  create: "to create",
  change: "to change",
  unchanged: "unchanged",
  replace: "to replace",
  delete: "to delete",
};

/** `2 to change, 1 to replace, 14 unchanged`. */
export function planCounts(changes: readonly PlannedChange[]): string {
  const counts = new Map<PlannedChange["action"], number>();
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  const order: PlannedChange["action"][] = ["create", "change", "replace", "delete", "unchanged"];
  return order
    .filter((a) => counts.has(a))
    .map((a) => `${counts.get(a)} ${WORD[a]}`)
    .join(", ");
}

/** `2026-11-24 18:09 UTC`: an ISO time as a log line shows it. */
export function shortTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

const UNITS: readonly [string, number][] = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
];

/** `3 days ago`, `just now`: how long ago an ISO time was, as a person says it. */
export function timeAgo(iso: string, now: Date = new Date()): string {
  const ms = now.getTime() - Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  for (const [unit, size] of UNITS) {
    const n = Math.floor(ms / size);
    if (n >= 1) return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  }
  return "just now";
}

/** `Mathison mathison-web:1.0.0 is installed in namespace x (installed …, by mathison-install 0.1.0)`. */
export function installedLine(
  i: InstalledSummary | undefined,
  namespace: string,
  now: Date = new Date(),
): string | undefined {
  if (!i) return undefined;
  const what = i.webImage ? `Mathison ${i.webImage}` : "Mathison";
  const when = [
    i.installedAt ? `installed ${timeAgo(i.installedAt, now)}` : "",
    i.updatedAt && i.updatedAt !== i.installedAt ? `last changed ${timeAgo(i.updatedAt, now)}` : "",
    i.installerVersion ? `by mathison-install ${i.installerVersion}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return `${what} is installed in namespace ${namespace}${when ? ` (${when})` : ""}`;
}

/** A first install that stopped half-way, as the run that resumes it greets it. */
export function resumingLine(record: InstallRecord, namespace: string, now: Date = new Date()): string {
  const last = record.history.at(-1);
  const stopped = last ? `: its last run stopped (${last.outcome}) ${timeAgo(last.time, now)}` : "";
  return `The install into namespace ${namespace} did not complete${stopped}. This run resumes it with the answers it recorded`;
}

/**
 * The plan as a person reads it before saying yes: what is installed, what changes per object
 * (every create is listed only on an upgrade; on a first install they are the whole manifest),
 * what that means, and what the answers kept. Pure; plain reporter and wizard both print it.
 */
export function planLines(e: PlanEvent, now: Date = new Date()): string[] {
  const lines: string[] = [];
  const installed = installedLine(e.installed, e.namespace, now);
  if (installed) lines.push(installed);
  const upgrade = e.installed !== undefined || e.changes.some((c) => c.action !== "create");
  lines.push(`Plan: ${planCounts(e.changes)}`);
  const listed = e.changes.filter((c) => c.action !== "unchanged" && (upgrade || c.action !== "create"));
  for (const c of listed) {
    const detail =
      c.action === "change" && c.fields.length > 0
        ? `: ${c.fields.join(", ")}`
        : c.note && c.action !== "change"
          ? `: ${c.note}`
          : "";
    lines.push(`  ${SIGN[c.action]} ${c.object}${detail}`);
  }
  if (upgrade && listed.length === 0) lines.push("  nothing to change: the cluster already matches");
  if (e.impact.length > 0) lines.push("What this means:", ...e.impact.map((i) => `  • ${i.message}`));
  if (e.notices.length > 0) lines.push("Notes:", ...e.notices.map((n) => `  ! ${n}`));
  return lines;
}
