import { readAllStatuses, readStatus } from "../../pipeline/status.js";
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

/** `mathison-install status`: the install at a glance on stdout (text or one JSON document); exit 0 only when healthy. */
export async function runStatus(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const parsed = flagsOrRefused(args, io);
  if (typeof parsed === "number") return parsed;
  const { output, namespace } = parsed;
  if (args.booleans["all-namespaces"]) return withCluster(args, io, (kube) => allNamespaces(kube, output, io));
  return withCluster(args, io, async (kube) => {
    const status = await readStatus(kube, namespace);
    if (!status) {
      io.stderr.write(
        `mathison-install: ${noInstallMessage(namespace, kube.contextName)}\n  try: --namespace with the install's namespace, or ${invoked()} install to install one\n`,
      );
      if (output === "json") io.stdout.write(`${JSON.stringify({ namespace, installed: null })}\n`);
      return ExitCode.notInstalled;
    }
    io.stdout.write(
      output === "json"
        ? `${JSON.stringify(status)}\n`
        : `${wrapLines(statusLines(status), widthOf(io.stdout)).join("\n")}\n`,
    );
    return status.healthy ? ExitCode.ok : ExitCode.notHealthy;
  });
}

/** `status --all-namespaces`: one row per install (one JSON document listing them); 0 only when every one is healthy. */
async function allNamespaces(kube: Kube, output: OutputFormat, io: CliIO): Promise<ExitCodeValue> {
  const statuses = await readAllStatuses(kube);
  if (output === "json") io.stdout.write(`${JSON.stringify({ context: kube.contextName, installs: statuses })}\n`);
  else if (statuses.length > 0)
    io.stdout.write(`${wrapLines(allStatusLines(statuses), widthOf(io.stdout)).join("\n")}\n`);
  if (statuses.length === 0) {
    io.stderr.write(
      `mathison-install: no Mathison install that these credentials can see in context ${kube.contextName}\n`,
    );
    return ExitCode.notInstalled;
  }
  return statuses.every((s) => s.healthy) ? ExitCode.ok : ExitCode.notHealthy;
}
