import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadConfig, type GivenSources } from "../config/load.js";
import { formatProblem, type InstallConfig } from "../config/types.js";
import type { SecretKey } from "../config/secret-keys.js";
import { inventoryOf } from "../engine/plan.js";
import type { Kube } from "../kube/types.js";
import type { ConnectOptions } from "../kube/client.js";
import { EXPORTED_OUTCOME, lastSuccessfulRun, nextRecord, type SuccessfulRun } from "../record/install-record.js";
import { clearPendingPassword, markPendingPassword, setDatabasePassword } from "../engine/rotate.js";
import { RollError, rollToDigest } from "../engine/restart.js";
import { DEFAULT_TIMEOUTS_MS } from "../engine/engine.js";
import { writeRecord, type InstallState } from "../record/store.js";
import {
  gitopsFiles,
  isSecretKept,
  type ExportedFile,
  type GitopsFlavor,
  type RepoLocation,
} from "../render/gitops.js";
import { renderPlan, type RenderedPlan } from "../render/render.js";
import { SECRET_NAME } from "../facts/names.js";
import type { KubeObject } from "../facts/objects.js";
import { packageVersion } from "../base/version.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import { answersToRecord, ensureNamespace, installedOf, openCluster, runEntryOf, secretValuesOf } from "./session.js";
import { exitOf, runLocked, Stop, type SaysWhy } from "./locked.js";
import { invoked } from "../base/invocation.js";

/** How `export` and `secrets apply` reach the cluster, take the lock and read what the user gave. */
export interface GitopsRunOptions {
  readonly cluster: ConnectOptions;
  readonly open?: () => Kube;
  readonly namespace: string;
  readonly lockTimeoutMs: number;
  readonly leaseSeconds?: number;
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly given: GivenSources;
}

export interface ExportOptions extends GitopsRunOptions {
  readonly dir: string;
  readonly flavor: GitopsFlavor;
  readonly repo: RepoLocation | undefined;
}

/** Where a command says what it did: lines for the person (stderr); `say` also for why it stopped. */
export interface GitopsOutput extends SaysWhy {
  line(text: string): void;
}

const EXPORT_WORDS = { nothingDone: "nothing was written" };

/**
 * `export --gitops DIR`: the install's answers (the record's, below what this run gives) rendered
 * as a directory a GitOps controller applies in the installer's order, without a secret value.
 * It writes files and one line of the record's history, nothing else: the install stays the
 * installer's until a controller applies it (its marks on the objects say so).
 */
export async function runExport(options: ExportOptions, out: GitopsOutput): Promise<ExitCodeValue> {
  try {
    const { kube, state } = await openCluster(options, { chooseContext: async () => undefined, say: out.say });
    const exported = exportOf(options, state);
    return await runLocked(kube, state, { ...EXPORT_WORDS, ...lockOf(options) }, out, async () => {
      writeFiles(options.dir, exported.files);
      await recordExport(kube, options, state, exported);
      out.line(nextStep(options, exported.rendered));
      out.line(
        `install manages ${options.namespace} until a GitOps controller applies the export (then install refuses, and install --leave-gitops takes it back)`,
      );
      out.line(
        `✔ wrote ${exported.files.length} files to ${options.dir} (${options.flavor}): review and commit them; nothing in the cluster changed`,
      );
      return ExitCode.ok;
    });
  } catch (err) {
    return exitOf(err, out, EXPORT_WORDS);
  }
}

/** What an export writes and records, from the install's state and this run's settings; a Stop when it cannot be made. */
interface Exported {
  readonly config: InstallConfig;
  readonly rendered: RenderedPlan;
  readonly files: readonly ExportedFile[];
  readonly answers: Pick<SuccessfulRun, "answers" | "defaults">;
}

function exportOf(options: ExportOptions, state: InstallState): Exported {
  if (!state.secrets.authSecret || !state.secrets.postgresPassword) throw noSecretYet(state);
  const unfinished = unfinishedWork(state);
  if (unfinished)
    throw new Stop(
      ExitCode.usage,
      `mathison-install: ${unfinished.why}; nothing was written\n  try: ${unfinished.hint}`,
    );
  const installed = installedOf(state);
  const resolved = loadConfig({
    flags: options.flags,
    env: options.env,
    given: options.given,
    forInstall: true,
    installed,
  });
  if (!resolved.ok)
    throw new Stop(ExitCode.usage, resolved.problems.map((p) => `mathison-install: ${formatProblem(p)}`).join("\n"));
  const rendered = renderPlan(resolved.config, undefined, { pullToken: state.record.pullToken });
  const answers = answersToRecord(resolved.chosen, state.record.defaults ?? []);
  const files = gitopsFiles({
    rendered,
    flavor: options.flavor,
    repo: options.repo,
    answers: answers.answers as Record<string, string>,
    installerVersion: packageVersion(),
  });
  assertNoSecret(files, secretValuesOf(resolved.config, state));
  return { config: resolved.config, rendered, files, answers };
}

/**
 * The export in the record's history. Answers, inventory and verification stay those of what runs;
 * a namespace that runs nothing yet (prepared by `secrets apply`) records the export's, since the
 * controller will run them and status, verify and uninstall need to know what that is.
 */
async function recordExport(
  kube: Kube,
  options: ExportOptions,
  state: InstallState,
  exported: Exported,
): Promise<void> {
  const run = runEntryOf(kube, exported.config, `${EXPORTED_OUTCOME} (${options.flavor})`);
  const first = state.record.answers === undefined;
  const pullToken = state.record.pullToken;
  const record = first
    ? nextRecord(state.record, run, {
        ...exported.answers,
        inventory: inventoryOf(exported.rendered),
        ...(pullToken ? { pullToken } : {}),
      })
    : nextRecord(state.record, run);
  await writeRecord(kube, options.namespace, record);
}

/** Work an earlier run left half done: the export would hand over an install that is not what its record says. */
function unfinishedWork(state: InstallState): { why: string; hint: string } | undefined {
  const ns = state.namespace;
  if (state.pendingPassword)
    return {
      why: `a POSTGRES_PASSWORD rotation in ${ns} did not finish (the Secret holds POSTGRES_PASSWORD_NEXT)`,
      hint: `${invoked()} secrets apply --namespace ${ns} finishes it; then export`,
    };
  if (state.record.restoring)
    return {
      why: `a restore in ${ns} did not finish (web and worker may be scaled down)`,
      hint: `${invoked()} restore ${state.record.restoring.file} --namespace ${ns} finishes it; then export`,
    };
  return undefined;
}

function noSecretYet(state: InstallState): Stop {
  return new Stop(
    ExitCode.usage,
    `mathison-install: Secret ${state.namespace}/${SECRET_NAME} does not exist yet: the export names its digest, and the secrets never go into Git; nothing was written\n  try: ${invoked()} secrets apply --namespace ${state.namespace} (it generates AUTH_SECRET and POSTGRES_PASSWORD and keeps them from then on), then export again`,
  );
}

/** A last guard: a file that would hold a secret value (plain or base64) is a bug, and nothing is written. */
export function assertNoSecret(files: readonly ExportedFile[], secrets: readonly string[]): void {
  const needles = secrets
    .filter((s) => s.length >= 8)
    .flatMap((s) => [s, Buffer.from(s).toString("base64").replace(/=+$/, "")]);
  for (const f of files) {
    if (needles.some((n) => f.content.includes(n)))
      throw new Error(`the export's ${f.path} would hold a secret value; nothing was written`);
  }
}

function writeFiles(dir: string, files: readonly ExportedFile[]): void {
  for (const f of files) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
  }
}

function nextStep(options: ExportOptions, rendered: RenderedPlan): string {
  switch (options.flavor) {
    case "argocd":
      return `then: kubectl apply -f ${join(options.dir, "argocd-application.yaml")}; Argo CD follows ${options.repo!.url} from then on`;
    case "flux":
      return `then: kubectl apply -f ${join(options.dir, "flux/mathison.yaml")}; Flux follows ${options.repo!.url} from then on`;
    case "kustomize":
      return `then: apply the stages of ${join(options.dir, "base")} in order, as ${join(options.dir, "README.md")} says (namespace ${rendered.namespace})`;
  }
}

function lockOf(options: GitopsRunOptions): { lockTimeoutMs: number; leaseSeconds?: number } {
  return {
    lockTimeoutMs: options.lockTimeoutMs,
    ...(options.leaseSeconds ? { leaseSeconds: options.leaseSeconds } : {}),
  };
}

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
