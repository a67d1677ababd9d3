import { noInstallMessage } from "../../record/install-record.js";
import { verifyInstall, type VerifyFrontEnd } from "../../pipeline/verify.js";
import { chooseReporter } from "../../ui/choose-reporter.js";
import { scriptVerifyFrontEnd } from "../../ui/script-checklist.js";
import type { ParsedArgs } from "../args.js";
import { flagsOrRefused, withCluster } from "./common.js";
import { isNonInteractive } from "./install.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";
import { doneOf, type Reporter, type RunOutcome } from "../../engine/events.js";
import { loadTerminal } from "../../ui/load-terminal.js";

/**
 * `mathison-install verify`: the checklist of an install any time. In a terminal the automated
 * checks and then the manual ones on the Ink screen; otherwise `check` events (phase verify) and
 * a `verified` event. Exit 10 when a check fails (or a manual one was answered no).
 */
export async function runVerify(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const parsed = flagsOrRefused(args, io);
  if (typeof parsed === "number") return parsed;
  const network = parsed.network;
  const startedAt = Date.now();
  return withCluster(args, io, async (kube) => {
    const { fe, reporter } = await frontEnd(args, io, parsed.output);
    const result = await verifyInstall(kube, parsed.namespace, network, fe);
    // JSON's stream ends with `done`, as every command's does; plain and the screen end at the verdict line.
    const done = (outcome: RunOutcome, message: string): void => {
      if (parsed.output === "json") reporter?.event(doneOf(outcome, message, startedAt));
    };
    if (!result) {
      const message = `mathison-install: ${noInstallMessage(parsed.namespace, kube.contextName)}`;
      io.stderr.write(`${message}\n`);
      done("not-installed", message);
      return ExitCode.notInstalled;
    }
    const v = result.verification;
    done(
      v.ok ? "ok" : "verify-failed",
      v.ok ? "verified: every check passed" : `verification failed (${v.failed.join(", ")})`,
    );
    return v.ok ? ExitCode.ok : ExitCode.verifyFailed;
  });
}

async function frontEnd(
  args: ParsedArgs,
  io: CliIO,
  output: "plain" | "json",
): Promise<{ fe: VerifyFrontEnd; reporter?: Reporter }> {
  if (!isNonInteractive(args, io)) {
    const fe = (await loadTerminal()).inkVerifyFrontEnd({
      output: io.stderr as NodeJS.WriteStream,
      input: io.stdin as NodeJS.ReadStream,
    });
    return { fe };
  }
  const reporter = chooseReporter({ format: output, stdout: io.stdout, stderr: io.stderr, env: io.env });
  return { fe: scriptVerifyFrontEnd(reporter), reporter };
}
