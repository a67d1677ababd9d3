import { secretValuesOf } from "../../pipeline/session.js";
import { readInstallState } from "../../record/store.js";
import { collectBundle, SecretInBundleError, writeBundle } from "../../support/bundle.js";
import type { ParsedArgs } from "../args.js";
import { flagsOrRefused, withCluster } from "./common.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";
import { packageVersion } from "../../base/version.js";
import { JsonReporter } from "../../ui/json-reporter.js";

/** `mathison-install support-bundle`: what someone helping needs, redacted, in one file whose path goes to stdout. */
export async function runSupportBundle(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const parsed = flagsOrRefused(args, io);
  if (typeof parsed === "number") return parsed;
  return withCluster(args, io, async (kube) => {
    const state = await readInstallState(kube, parsed.namespace);
    if (!state.namespaceExists) {
      io.stderr.write(
        `mathison-install: namespace ${state.namespace} does not exist (context ${kube.contextName}): nothing to collect\n`,
      );
      return ExitCode.notInstalled;
    }
    try {
      const files = await collectBundle({
        kube,
        state,
        installerVersion: packageVersion(),
        secretValues: secretValuesOf(undefined, state),
      });
      const path = writeBundle(files, state.namespace, args.strings["dir"] ?? process.cwd());
      io.stderr.write(
        `support bundle: ${files.size} files, mode 0600, scanned for the install's secret values (none found)\n`,
      );
      if (parsed.output === "json")
        new JsonReporter(io.stdout).event({
          event: "support-bundle",
          path,
          message: `support bundle written to ${path}`,
        });
      else io.stdout.write(`${path}\n`);
      return ExitCode.ok;
    } catch (err) {
      if (!(err instanceof SecretInBundleError)) throw err;
      io.stderr.write(`mathison-install: ${err.message}\n`);
      return ExitCode.internal;
    }
  });
}
