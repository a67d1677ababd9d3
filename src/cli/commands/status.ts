import { type InstallStatus, readAllStatuses, readStatus } from "../../pipeline/status.js";
import { doneOf } from "../../engine/events.js";
import { JsonReporter } from "../../ui/json-reporter.js";
import { noInstallMessage } from "../../record/install-record.js";
import { allStatusLines, statusLines } from "../../ui/status-lines.js";
import { widthOf, wrapLines } from "../../ui/wrap.js";
import type { Kube } from "../../kube/types.js";
import type { OutputFormat } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { flagsOrRefused, withCluster } from "./common.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";
import { invoked } from "../../base/invocation.js";

/**
 * `mathison-install status`: the install at a glance on stdout, as lines or (`--output json`) a
 * `report` event per install and the run's `done`, as every command's stream ends; exit 0 only
 * when healthy.
 */
export async function runStatus(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const parsed = flagsOrRefused(args, io);
  if (typeof parsed === "number") return parsed;
  const { output, namespace } = parsed;
  const startedAt = Date.now();
  if (args.booleans["all-namespaces"])
    return withCluster(args, io, (kube) => allNamespaces(kube, output, io, startedAt));
  return withCluster(args, io, async (kube) => {
    const status = await readStatus(kube, namespace);
    if (!status) {
      const message = noInstallMessage(namespace, kube.contextName);
      io.stderr.write(
        `mathison-install: ${message}\n  try: --namespace with the install's namespace, or ${invoked()} install to install one\n`,
      );
      if (output === "json") new JsonReporter(io.stdout).event(doneOf("not-installed", message, startedAt));
      return ExitCode.notInstalled;
    }
    if (output === "json") reportJson([status], io, startedAt);
    else io.stdout.write(`${wrapLines(statusLines(status), widthOf(io.stdout)).join("\n")}\n`);
    return status.healthy ? ExitCode.ok : ExitCode.notHealthy;
  });
}

/** `status --all-namespaces`: one row (or `report`) per install; 0 only when every one is healthy. */
async function allNamespaces(kube: Kube, output: OutputFormat, io: CliIO, startedAt: number): Promise<ExitCodeValue> {
  const statuses = await readAllStatuses(kube);
  if (statuses.length === 0) {
    const message = `no Mathison install that these credentials can see in context ${kube.contextName}`;
    io.stderr.write(`mathison-install: ${message}\n`);
    if (output === "json") new JsonReporter(io.stdout).event(doneOf("not-installed", message, startedAt));
    return ExitCode.notInstalled;
  }
  if (output === "json") reportJson(statuses, io, startedAt);
  else io.stdout.write(`${wrapLines(allStatusLines(statuses), widthOf(io.stdout)).join("\n")}\n`);
  return statuses.every((s) => s.healthy) ? ExitCode.ok : ExitCode.notHealthy;
}

/** A `report` per install, then `done`: ok when every one is healthy, `unhealthy` (exit 7) when one is not. */
function reportJson(statuses: readonly InstallStatus[], io: CliIO, startedAt: number): void {
  const reporter = new JsonReporter(io.stdout);
  for (const install of statuses) reporter.event({ event: "report", install });
  const unhealthy = statuses.filter((s) => !s.healthy).map((s) => s.namespace);
  reporter.event(
    doneOf(
      unhealthy.length === 0 ? "ok" : "unhealthy",
      unhealthy.length === 0
        ? statuses.length === 1
          ? `${statuses[0]!.namespace} is healthy`
          : `all ${statuses.length} installs are healthy`
        : `not healthy: ${unhealthy.join(", ")}`,
      startedAt,
    ),
  );
}
