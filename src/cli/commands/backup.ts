import { join, resolve } from "node:path";
import { BackupError, backupFileName, snapshotDir } from "../../engine/backup-files.js";
import { backupWithEvents } from "../../pipeline/backup.js";
import { whileInterruptible } from "../../pipeline/signals.js";
import { lastSuccessfulRun, noInstallMessage } from "../../record/install-record.js";
import { readInstallState } from "../../record/store.js";
import { chooseReporter } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { flagsOrRefused, withCluster } from "./common.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";

/**
 * `mathison-install backup`: a consistent pg_dump of the install's database, streamed to a local
 * file (FILE.partial until pg_dump succeeded) with its manifest beside it; the path on stdout.
 */
export async function runBackup(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const parsed = flagsOrRefused(args, io);
  if (typeof parsed === "number") return parsed;
  return withCluster(args, io, async (kube) => {
    const state = await readInstallState(kube, parsed.namespace);
    if (!state.namespaceExists || !lastSuccessfulRun(state.record)) {
      io.stderr.write(
        `mathison-install: ${noInstallMessage(parsed.namespace, kube.contextName)}; nothing was backed up\n`,
      );
      return ExitCode.notInstalled;
    }
    const ownRedis = state.record.answers?.["redisUrl"];
    if (ownRedis && args.booleans["include-redis"]) {
      io.stderr.write(
        `mathison-install: --include-redis: this install uses your own Redis (${ownRedis}); its data (a cache and BullMQ's queue) is backed up where it runs, not by the installer; nothing was backed up\n`,
      );
      return ExitCode.usage;
    }
    const given = args.strings["out"];
    const file = given
      ? resolve(given)
      : join(snapshotDir(io.env, kube.contextName, state.namespace), backupFileName(state.namespace));
    const reporter = chooseReporter({ format: parsed.output, stdout: io.stdout, stderr: io.stderr, env: io.env });
    const interrupt = new AbortController();
    try {
      await whileInterruptible(
        () => interrupt.abort(new BackupError("interrupted; the partial files were removed")),
        () => backupWithEvents(kube, state, file, reporter, interrupt.signal, args.booleans["include-redis"] ?? false),
      );
    } catch (err) {
      if (!(err instanceof BackupError)) throw err;
      return interrupt.signal.aborted ? ExitCode.interrupted : ExitCode.backupFailed;
    }
    if (parsed.output === "plain") io.stdout.write(`${file}\n`);
    return ExitCode.ok;
  });
}
