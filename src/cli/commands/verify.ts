import { VERIFY_CHECKS } from "../../checks/verify/index.js";
import { runChecks } from "../../checks/types.js";
import { noInstallMessage } from "../../record/install-record.js";
import { readInstallState, writeRecord } from "../../record/store.js";
import { chooseReporter } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import type { CliIO } from "../io.js";
import { outputAndNamespace, withCluster } from "./common.js";

/** `mathison-install verify`: the automated checks of an install, as `check` events (phase verify); exit 10 when one fails. */
export async function runVerify(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const parsed = outputAndNamespace(args, io);
  if (typeof parsed === "number") return parsed;
  return withCluster(args, io, async (kube) => {
    const state = await readInstallState(kube, parsed.namespace);
    const lastOk = [...state.record.history].reverse().find((r) => r.outcome === "ok");
    if (!state.namespaceExists || !state.record.answers || !lastOk) {
      io.stderr.write(`mathison-install: ${noInstallMessage(parsed.namespace, kube.contextName)}\n`);
      return ExitCode.notInstalled;
    }
    const reporter = chooseReporter({ format: parsed.output, stdout: io.stdout, stderr: io.stderr, env: io.env });
    const context = { kube, state, answers: state.record.answers as Record<string, string>, webImage: lastOk.webImage, workerImage: lastOk.workerImage };
    const outcomes = await runChecks(VERIFY_CHECKS, context);
    for (const o of outcomes) reporter.event({ event: "check", phase: "verify", ...o });
    const failed = outcomes.filter((o) => o.status === "fail").map((o) => o.id);
    const verification = { time: new Date().toISOString(), ok: failed.length === 0, failed, warned: outcomes.filter((o) => o.status === "warn").map((o) => o.id) };
    // `status` shows the last result; a record that cannot be written does not change the verdict.
    await writeRecord(kube, parsed.namespace, { ...state.record, verification }).catch((err: Error) => io.stderr.write(`mathison-install: the result was not recorded: ${err.message}
`));
    return failed.length === 0 ? ExitCode.ok : ExitCode.verifyFailed;
  });
}
