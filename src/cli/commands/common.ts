import { loadConfig } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import { connect } from "../../kube/client.js";
import { ClusterAccessError, KubeApiError, type Kube } from "../../kube/types.js";
import { OUTPUT_FORMATS, type OutputFormat } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import type { CliIO } from "../io.js";

/** --output and the namespace (flag, environment or values file) of the read-only commands; problems printed, exit 2. */
export function outputAndNamespace(args: ParsedArgs, io: CliIO): { output: OutputFormat; namespace: string } | ExitCodeValue {
  const output = (args.strings["output"] ?? "plain") as OutputFormat;
  const given = loadConfig({ flags: args.strings, env: io.env });
  const problems = given.ok ? [] : given.problems.map(formatProblem);
  if (!OUTPUT_FORMATS.includes(output)) problems.push(`--output: ${JSON.stringify(output)} is not allowed: ${OUTPUT_FORMATS.join(" or ")}`);
  if (problems.length > 0 || !given.ok) {
    for (const p of problems) io.stderr.write(`mathison-install: ${p}\n`);
    return ExitCode.usage;
  }
  return { output, namespace: given.config.namespace };
}

/** Connects as kubectl would; an unreachable cluster or refused credentials become exit 3 with a hint. */
export async function withCluster(args: ParsedArgs, io: CliIO, run: (kube: Kube) => Promise<ExitCodeValue>): Promise<ExitCodeValue> {
  try {
    return await run(connect({ kubeconfig: args.strings["kubeconfig"], context: args.strings["context"] }));
  } catch (err) {
    if (!(err instanceof ClusterAccessError) && !(err instanceof KubeApiError && err.status === 403)) throw err;
    io.stderr.write(`mathison-install: cannot reach the cluster: ${err.message}\n  try: kubectl cluster-info with the same --kubeconfig/--context\n`);
    return ExitCode.clusterAccess;
  }
}
