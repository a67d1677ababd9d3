import { loadConfig } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import { connect } from "../../kube/client.js";
import { ClusterAccessError, KubeApiError } from "../../kube/types.js";
import { secretValuesOf } from "../../pipeline/install.js";
import { readInstallState } from "../../record/store.js";
import { collectBundle, SecretInBundleError, writeBundle } from "../../support/bundle.js";
import type { ParsedArgs } from "../args.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import type { CliIO } from "../io.js";
import { packageVersion } from "../version.js";

/** `mathison-install support-bundle`: what someone helping needs, redacted, in one file whose path goes to stdout. */
export async function runSupportBundle(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const given = loadConfig({ flags: args.strings, env: io.env });
  if (!given.ok) {
    for (const p of given.problems) io.stderr.write(`mathison-install: ${formatProblem(p)}\n`);
    return ExitCode.usage;
  }
  try {
    const kube = connect({ kubeconfig: args.strings["kubeconfig"], context: args.strings["context"] });
    const state = await readInstallState(kube, given.config.namespace);
    if (!state.namespaceExists) {
      io.stderr.write(`mathison-install: namespace ${state.namespace} does not exist (context ${kube.contextName}): nothing to collect\n`);
      return ExitCode.notInstalled;
    }
    const files = await collectBundle({ kube, state, installerVersion: packageVersion(), secretValues: secretValuesOf(undefined, state) });
    const path = writeBundle(files, state.namespace, args.strings["dir"] ?? process.cwd());
    io.stderr.write(`support bundle: ${files.size} files, mode 0600, scanned for the install's secret values (none found)\n`);
    io.stdout.write(`${path}\n`);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof SecretInBundleError) {
      io.stderr.write(`mathison-install: ${err.message}\n`);
      return ExitCode.internal;
    }
    if (!(err instanceof ClusterAccessError) && !(err instanceof KubeApiError && err.status === 403)) throw err;
    io.stderr.write(`mathison-install: cannot reach the cluster: ${err.message}\n  try: kubectl cluster-info with the same --kubeconfig/--context\n`);
    return ExitCode.clusterAccess;
  }
}
