import { readStatus } from "../../pipeline/status.js";
import { noInstallMessage } from "../../record/install-record.js";
import { statusLines } from "../../ui/status-lines.js";
import type { ParsedArgs } from "../args.js";
import { outputAndNamespace, withCluster } from "./common.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";

/** `mathison-install status`: the install at a glance on stdout (text or one JSON document); exit 0 only when healthy. */
export async function runStatus(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const parsed = outputAndNamespace(args, io);
  if (typeof parsed === "number") return parsed;
  const { output, namespace } = parsed;
  return withCluster(args, io, async (kube) => {
    const status = await readStatus(kube, namespace);
    if (!status) {
      io.stderr.write(
        `mathison-install: ${noInstallMessage(namespace, kube.contextName)}\n  try: --namespace with the install's namespace, or mathison-install install to install one\n`,
      );
      if (output === "json") io.stdout.write(`${JSON.stringify({ namespace, installed: null })}\n`);
      return ExitCode.notInstalled;
    }
    io.stdout.write(output === "json" ? `${JSON.stringify(status)}\n` : `${statusLines(status).join("\n")}\n`);
    return status.healthy ? ExitCode.ok : ExitCode.notHealthy;
  });
}
