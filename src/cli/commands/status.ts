import { loadConfig } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import { connect } from "../../kube/client.js";
import { ClusterAccessError, KubeApiError } from "../../kube/types.js";
import { readStatus } from "../../pipeline/status.js";
import { OUTPUT_FORMATS, type OutputFormat } from "../../ui/choose-reporter.js";
import { statusLines } from "../../ui/status-lines.js";
import type { ParsedArgs } from "../args.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import type { CliIO } from "../io.js";

/** `mathison-install status`: the install at a glance on stdout (text or one JSON document); exit 0 only when healthy. */
export async function runStatus(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const output = (args.strings["output"] ?? "plain") as OutputFormat;
  const given = loadConfig({ flags: args.strings, env: io.env });
  const problems = given.ok ? [] : given.problems.map(formatProblem);
  if (!OUTPUT_FORMATS.includes(output)) problems.push(`--output: ${JSON.stringify(output)} is not allowed: ${OUTPUT_FORMATS.join(" or ")}`);
  if (problems.length > 0 || !given.ok) {
    for (const p of problems) io.stderr.write(`mathison-install: ${p}\n`);
    return ExitCode.usage;
  }
  const namespace = given.config.namespace;
  try {
    const kube = connect({ kubeconfig: args.strings["kubeconfig"], context: args.strings["context"] });
    const status = await readStatus(kube, namespace);
    if (!status) {
      io.stderr.write(`mathison-install: no Mathison install in namespace ${namespace} (context ${kube.contextName}): no install record (ConfigMap mathison-install)\n  try: --namespace with the install's namespace, or mathison-install install to install one\n`);
      if (output === "json") io.stdout.write(`${JSON.stringify({ namespace, installed: null })}\n`);
      return ExitCode.notInstalled;
    }
    io.stdout.write(output === "json" ? `${JSON.stringify(status)}\n` : `${statusLines(status).join("\n")}\n`);
    return status.healthy ? ExitCode.ok : ExitCode.notHealthy;
  } catch (err) {
    if (!(err instanceof ClusterAccessError) && !(err instanceof KubeApiError && err.status === 403)) throw err;
    io.stderr.write(`mathison-install: cannot reach the cluster: ${err.message}\n  try: kubectl cluster-info with the same --kubeconfig/--context\n`);
    return ExitCode.clusterAccess;
  }
}
