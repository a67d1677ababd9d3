import type { InstallStatus } from "../pipeline/status.js";
import { gitopsController, type GitopsManaged } from "../facts/gitops.js";
import { shortTime, timeAgo } from "./plan-lines.js";
import { invoked } from "../base/invocation.js";
import { wrapLine } from "./wrap.js";

const WIDTH = 80;

function fit(line: string): string {
  return line.length <= WIDTH ? line : `${line.slice(0, WIDTH - 1)}…`;
}

/** Words wrapped to the width, each line indented (the one wrapping path: commands stay whole). */
function wrap(text: string, indent: string): string[] {
  return wrapLine(`${indent}${text}`, WIDTH);
}

/** `  Degraded    Deployment/x   message`; a message too long for the row goes below it, wrapped, so the reason is never cut. */
function row(state: string, object: string, message: string): string[] {
  const head = `  ${state.padEnd(12)}${object.padEnd(33)}`;
  return head.length + message.length <= WIDTH ? [`${head}${message}`] : [head.trimEnd(), ...wrap(message, "      ")];
}

function lockLine(s: InstallStatus): string {
  if (!s.lock) return "free";
  const h = s.lock.holder;
  // The holder's clock wrote `since`: shown as it says, never compared with ours.
  const who = h ? `${h.user}@${h.host} (pid ${h.pid}) since ${shortTime(h.since)} by its clock` : "another run";
  return `held by ${who}; if it stopped, the next run takes the lock over ${s.lock.leaseSeconds} s after it sees no renewal`;
}

/** The verdict: incomplete (and how to go on), healthy or not, and the last verification when it failed. */
function headline(s: InstallStatus): string {
  if (s.state === "incomplete") {
    const last = s.history.at(-1);
    return `INCOMPLETE: no run has completed yet${last ? ` (the last one stopped: ${last.outcome}, ${shortTime(last.time)})` : ""}; re-run ${invoked()} install --namespace ${s.namespace} to resume, or ${invoked()} uninstall --namespace ${s.namespace} to remove it`;
  }
  if (s.restoring) {
    return (
      `RESTORE NOT FINISHED (started ${shortTime(s.restoring.since)}): web and worker may be scaled down; ` +
      `unless it still runs (see the lock), ${invoked()} restore ${s.restoring.file} --namespace ${s.namespace} finishes it, ` +
      `${invoked()} install --namespace ${s.namespace} starts them as they were`
    );
  }
  if (s.moving) {
    const [where, finish] =
      s.moving.to === "own"
        ? [`your own PostgreSQL (${s.moving.url})`, `--postgres-url ${s.moving.url} and its password`]
        : ["the cluster's PostgreSQL", '--postgres-url ""'];
    return (
      `MOVE NOT FINISHED (started ${shortTime(s.moving.since)}): the data goes to ${where}; web and worker may be stopped; ` +
      `unless a run still holds the lock, ${invoked()} install --namespace ${s.namespace} with ${finish} finishes it`
    );
  }
  if (s.switchingRedis) {
    const r = s.switchingRedis;
    const [where, finish] =
      r.to === "own"
        ? [`your own Redis (${r.url})`, `--redis-url ${r.url} and its password`]
        : ["the cluster's Redis", '--redis-url ""'];
    return (
      `REDIS SWITCH NOT FINISHED (started ${shortTime(r.since)}): to ${where}; web is stopped while the queue drains; ` +
      `unless a run still holds the lock, ${invoked()} install --namespace ${s.namespace} with ${finish} finishes it, without it starts web again`
    );
  }
  if (s.rotating) {
    return (
      "POSTGRES_PASSWORD ROTATION NOT FINISHED (the Secret holds POSTGRES_PASSWORD_NEXT): web and worker may not reach the database; " +
      `unless a run still holds the lock, ${invoked()} install --namespace ${s.namespace} finishes it` +
      (s.gitops ? ` (GitOps: ${invoked()} secrets apply --namespace ${s.namespace})` : "")
    );
  }
  const v = s.lastVerification;
  const verification =
    v && !v.ok
      ? `; last verification failed (${v.failed.join(", ")}); to see why, ${invoked()} verify --namespace ${s.namespace}`
      : "";
  return `${s.healthy ? "healthy" : "NOT healthy"}${verification}`;
}

/** `  label  text` with the text wrapped below itself. */
function labelled(label: string, text: string): string[] {
  const indent = " ".repeat(label.length);
  return wrap(text, indent).map((l, i) => (i === 0 ? label + l.slice(indent.length) : l));
}

function gitopsLine(g: GitopsManaged): string {
  return `GitOps: the ${gitopsController(g).name} (seen by ${g.seenBy}); change it through the repository`;
}

/** `mathison-install status` as text: the install, its workloads in one word each, its answers and last runs; 80 columns. */
export function statusLines(s: InstallStatus, now: Date = new Date()): string[] {
  const i = s.installed;
  const when = [
    i.installedAt ? `installed ${timeAgo(i.installedAt, now)}` : "",
    i.updatedAt ? `last changed ${timeAgo(i.updatedAt, now)}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  const lines = [
    ...wrap(`Mathison in namespace ${s.namespace} (context ${s.context}): ${headline(s)}`, ""),
    `  images      ${[i.webImage, i.workerImage].filter(Boolean).join(", ") || "unknown"}`,
    `  installer   ${i.installerVersion ?? "unknown"}${when ? `; ${when}` : ""}`,
    `  lock        ${lockLine(s)}`,
    ...(s.gitops ? labelled("  managed by  ", gitopsLine(s.gitops)) : []),
    "Workloads",
    ...s.workloads.flatMap((w) => row(w.state, w.object, w.message)),
  ];
  if (s.migration)
    lines.push(
      ...row(
        s.migration.state === "failed" ? "Failed" : s.migration.state === "completed" ? "Completed" : "Running",
        s.migration.object,
        s.migration.message,
      ),
    );
  lines.push("Settings");
  const keyWidth = Math.max(...s.answers.map((a) => a.key.length), ...s.secrets.map((x) => x.key.length)) + 2;
  for (const a of s.answers)
    lines.push(
      `  ${a.key.padEnd(keyWidth)}${a.value || (a.key === "storageClass" ? "the cluster's default class" : "(empty)")}${a.origin === "default" ? "  (default)" : ""}`,
    );
  for (const x of s.secrets) lines.push(`  ${x.key.padEnd(keyWidth)}${x.set ? "•••••••• (set)" : "(not set)"}`);
  lines.push("Last runs");
  const shown = s.history.slice(-5).reverse();
  // `exported (argocd)` is longer than the run outcomes: the column fits the longest shown.
  const outcomeWidth = Math.max(13, ...shown.map((r) => r.outcome.length + 2));
  for (const r of shown)
    lines.push(`  ${shortTime(r.time)}  ${r.outcome.padEnd(outcomeWidth)}${r.webImage}  ${r.user}@${r.host}`);
  const v = s.lastVerification;
  lines.push(
    v
      ? `Last verification: ${timeAgo(v.time, now)}, ${v.ok ? "passed" : `failed: ${v.failed.join(", ")}`}${v.warned.length > 0 ? `; warnings: ${v.warned.join(", ")}` : ""}`
      : `Last verification: none recorded (${invoked()} verify)`,
  );
  return lines.map(fit);
}

/** `status --all-namespaces`: a table as `helm list -A` prints releases, one install a row. */
export function allStatusLines(statuses: readonly InstallStatus[], now: Date = new Date()): string[] {
  const rows = statuses.map((s) => {
    const last = s.history.at(-1);
    return [
      s.namespace,
      s.state === "incomplete" ? "INCOMPLETE" : s.healthy ? "healthy" : "not healthy",
      s.installed.webImage ?? "unknown",
      last ? `${last.outcome}, ${timeAgo(last.time, now)}` : "none",
    ];
  });
  const head = ["NAMESPACE", "STATE", "WEB IMAGE", "LAST RUN"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2)))
      .join("")
      .trimEnd(),
  );
}
