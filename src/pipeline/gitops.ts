import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadConfig, type GivenSources } from "../config/load.js";
import { formatProblem, type InstallConfig } from "../config/types.js";
import { inventoryOf } from "../engine/plan.js";
import type { Kube } from "../kube/types.js";
import type { ConnectOptions } from "../kube/client.js";
import { EXPORTED_OUTCOME, nextRecord, type SuccessfulRun } from "../record/install-record.js";
import { writeRecord, type InstallState } from "../record/store.js";
import { gitopsFiles, type ExportedFile, type GitopsFlavor, type RepoLocation } from "../render/gitops.js";
import { renderPlan, type RenderedPlan } from "../render/render.js";
import { SECRET_NAME } from "../facts/names.js";
import { packageVersion } from "../base/version.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import { answersToRecord, installedOf, openCluster, runEntryOf, secretValuesOf } from "./session.js";
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

export function lockOf(options: GitopsRunOptions): { lockTimeoutMs: number; leaseSeconds?: number } {
  return {
    lockTimeoutMs: options.lockTimeoutMs,
    ...(options.leaseSeconds ? { leaseSeconds: options.leaseSeconds } : {}),
  };
}
