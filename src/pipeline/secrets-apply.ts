import { loadConfig } from "../config/load.js";
import { formatProblem, type InstallConfig } from "../config/types.js";
import type { SecretKey } from "../config/secret-keys.js";
import type { Kube } from "../kube/types.js";
import { lastSuccessfulRun, nextRecord } from "../record/install-record.js";
import { clearPendingPassword, markPendingPassword, setDatabasePassword } from "../engine/rotate.js";
import { RollError, rollToDigest } from "../engine/restart.js";
import { DEFAULT_TIMEOUTS_MS } from "../engine/engine.js";
import { writeRecord, type InstallState } from "../record/store.js";
import { isSecretKept } from "../render/gitops.js";
import { renderPlan } from "../render/render.js";
import type { KubeObject } from "../facts/objects.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import { ensureNamespace, installedOf, openCluster, runEntryOf } from "./session.js";
import { exitOf, runLocked, Stop } from "./locked.js";
import { invoked } from "../base/invocation.js";

import { type GitopsOutput, type GitopsRunOptions, lockOf } from "./gitops.js";

// `secrets apply`: the Secret an export leaves out, applied from what the user gives (a rotation
// set inside PostgreSQL first); web and worker restart when a value they read at start changed.

export interface SecretsApplyOptions extends GitopsRunOptions {
  readonly replaceSecrets: readonly SecretKey[];
  readonly rotateSecrets: readonly SecretKey[];
}

const SECRETS_WORDS = { nothingDone: "no Secret was changed" };

/**
 * `secrets apply`: the install's Secrets (and its namespace, when missing) made or brought up to
 * date in the cluster by the kept-secret rules — every installed value stays unless replaced or
 * rotated on request — for an install a GitOps controller applies without them.
 */
export async function runSecretsApply(options: SecretsApplyOptions, out: GitopsOutput): Promise<ExitCodeValue> {
  try {
    const { kube, state } = await openCluster(options, { chooseContext: async () => undefined, say: out.say });
    const { config, notices } = secretsConfig(options, state);
    const rendered = renderPlan(config);
    const objects = rendered.stages.flatMap((s) => s.objects);
    if (!state.namespaceExists) await ensureNamespace(kube, rendered);
    const installedPassword = state.secrets.postgresPassword;
    // An unfinished rotation (POSTGRES_PASSWORD_NEXT) is finished as one asked for now.
    const rotating =
      state.pendingPassword !== undefined ||
      (installedPassword !== undefined && config.secrets.postgresPassword !== installedPassword);
    return await runLocked(kube, state, { ...SECRETS_WORDS, ...lockOf(options) }, out, async ({ signal }) => {
      const password = config.secrets.postgresPassword;
      if (rotating) {
        // As install --rotate does: the new password kept beside the old one, set inside PostgreSQL, then the Secret.
        await markPendingPassword(kube, options.namespace, password);
        await setDatabasePassword(kube, options.namespace, password);
        out.line("POSTGRES_PASSWORD: PostgreSQL has the new password; the Secret gets it next");
      }
      const changed = await applySecrets(kube, objects.filter(isSecretKept), out);
      if (rotating) await clearPendingPassword(kube, options.namespace);
      if (changed && !state.gitops) await restartedWithNewValues(kube, objects, options.namespace, signal, out);
      else if (changed)
        out.line(
          `web and worker still hold the old values (${rotating ? "the old database password" : "for example the old AUTH_SECRET, with which they sign sessions"}) until they restart: run ${invoked()} export --gitops DIR again and commit (the new digest rolls them), or kubectl -n ${options.namespace} rollout restart deploy/mathison-web deploy/mathison-worker`,
        );
      const generated = config.generated.map((k) => (k === "authSecret" ? "AUTH_SECRET" : "POSTGRES_PASSWORD"));
      if (generated.length > 0)
        out.line(`generated ${generated.join(" and ")} (never printed; kept by every later run)`);
      for (const n of notices) out.line(`mathison-install: ${n}`);
      const outcome = `secrets ${changed ? "updated" : "unchanged"}${rotating ? " (rotated)" : ""}`;
      const notRecorded = await recordSecretsRun(kube, state, config, outcome).then(
        () => "",
        (err: Error) => `; the run was not recorded: ${err.message}`,
      );
      out.line(
        `✔ ${changed ? "the Secrets' values changed" : "no value changed"}${rotating ? "; POSTGRES_PASSWORD rotated" : ""}${notRecorded}`,
      );
      return ExitCode.ok;
    });
  } catch (err) {
    return exitOf(err, out, SECRETS_WORDS);
  }
}

/** The run in the install's history (status's last runs); a namespace with no install yet gets no record from it. */
async function recordSecretsRun(
  kube: Kube,
  state: InstallState,
  config: InstallConfig,
  outcome: string,
): Promise<void> {
  if (!state.record.answers) return;
  const images = lastSuccessfulRun(state.record) ?? config;
  await writeRecord(kube, state.namespace, nextRecord(state.record, runEntryOf(kube, images, outcome)));
}

/**
 * An install the installer runs: web and worker restart with the Secret's new values as an
 * upgrade restarts them (the pod templates' digest), and the run waits for them.
 */
async function restartedWithNewValues(
  kube: Kube,
  objects: readonly KubeObject[],
  namespace: string,
  signal: AbortSignal,
  out: GitopsOutput,
): Promise<void> {
  try {
    const rolled = await rollToDigest(kube, objects, DEFAULT_TIMEOUTS_MS.app, signal);
    if (rolled.length > 0)
      out.line(`${rolled.join(" and ")} restarted with the new values, as an upgrade restarts them`);
  } catch (err) {
    if (!(err instanceof RollError)) throw err;
    throw new Stop(
      signal.aborted ? ExitCode.interrupted : ExitCode.wait,
      `mathison-install: the Secret is updated, but web and worker did not restart with it: ${err.message}; see kubectl -n ${namespace} rollout status deploy/mathison-web deploy/mathison-worker`,
      signal.aborted ? "interrupted" : "timeout",
    );
  }
}

/** The secrets by the kept-secret rules (the install's values, unless replaced or rotated); a Stop on bad input. */
function secretsConfig(
  options: SecretsApplyOptions,
  state: InstallState,
): { config: InstallConfig; notices: readonly string[] } {
  const resolved = loadConfig({
    flags: options.flags,
    env: options.env,
    given: options.given,
    installed: installedOf(state),
    replaceSecrets: options.replaceSecrets,
    rotateSecrets: options.rotateSecrets,
  });
  if (!resolved.ok)
    throw new Stop(ExitCode.usage, resolved.problems.map((p) => `mathison-install: ${formatProblem(p)}`).join("\n"));
  if (resolved.config.llmProvider === "anthropic" && !resolved.config.secrets.anthropicApiKey)
    throw new Stop(
      ExitCode.usage,
      "mathison-install: ANTHROPIC_API_KEY: (not given) is not allowed: the Anthropic API key web and worker call the LLM with; set ANTHROPIC_API_KEY or pass --anthropic-api-key-file (a re-run keeps the installed one)",
    );
  return { config: resolved.config, notices: resolved.notices };
}

/**
 * Applies each Secret and says whether it was created, its values changed, or not; whether any
 * value changed. Values are compared, not versions: an apply that only takes over field ownership
 * or a label moves the resourceVersion and changes nothing a pod reads.
 */
async function applySecrets(kube: Kube, secrets: readonly KubeObject[], out: GitopsOutput): Promise<boolean> {
  let changed = false;
  for (const secret of secrets) {
    const { name, namespace } = secret.metadata;
    const before = await kube.get({ apiVersion: "v1", kind: "Secret", name, namespace });
    const after = await kube.apply(secret);
    const same = before !== undefined && sameValues(before, after);
    if (!same) changed = true;
    out.line(`Secret ${namespace}/${name}: ${!before ? "created" : same ? "unchanged" : "updated"}`);
  }
  return changed;
}

/** Whether two versions of a Secret hold the same keys and values. */
export function sameValues(a: KubeObject, b: KubeObject): boolean {
  const values = (o: KubeObject) => {
    const data = (o as { data?: Record<string, string> }).data ?? {};
    return JSON.stringify(
      Object.keys(data)
        .sort()
        .map((k) => [k, data[k]]),
    );
  };
  return values(a) === values(b);
}
