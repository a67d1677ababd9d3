import { hostname, userInfo } from "node:os";
import { FIELDS, type FieldKey } from "../config/fields.js";
import type { Installed } from "../config/installed.js";
import type { ChosenValues } from "../config/resolve.js";
import type { InstallConfig } from "../config/types.js";
import { connect, listContexts, readKubeconfig, type ConnectOptions } from "../kube/client.js";
import { readOnce } from "../kube/read-once.js";
import { KubeApiError, type Kube } from "../kube/types.js";
import type { RunEntry, SuccessfulRun } from "../record/install-record.js";
import { readInstallState, type InstallState } from "../record/store.js";
import type { RenderedPlan } from "../render/render.js";
import { RECORD_NAME, SECRET_NAME } from "../facts/names.js";
import { packageVersion } from "../base/version.js";
import type { FrontEnd } from "./front-end.js";

/*
 * What every command that works on an install shares: opening the cluster (the context choice,
 * one read of each object until the confirm), the install as the answers see it, the namespace
 * the lock lives in, and the record's view of a run.
 */

/** What opening a cluster needs of a command's options and front end (install, export, secrets apply). */
export interface OpenOptions {
  readonly cluster: ConnectOptions;
  /** Another way to reach a cluster than the kubeconfig (unit tests pass an in-memory one). */
  readonly open?: () => Kube;
  readonly namespace: string;
}
type OpenFrontEnd = Pick<FrontEnd, "chooseContext" | "say">;

export async function openCluster(
  options: OpenOptions,
  fe: OpenFrontEnd,
): Promise<{ kube: Kube; reads: Kube; state: InstallState }> {
  if (options.open) return opened(options.open(), options, fe);
  let context = options.cluster.context;
  const read = readKubeconfig(options.cluster);
  if (context === undefined) {
    const { names } = listContexts({ read });
    if (names.length > 1) context = await fe.chooseContext(names);
  }
  return opened(connect({ ...options.cluster, context, read }), options, fe);
}

/**
 * The cluster as this run reads it until it confirms: the install's state, the plan's and the
 * preflight's reads share one read of each object (the ownership check's objects are the plan's,
 * the record and Secret the state's). Under the lock the run reads afresh.
 */
async function opened(
  cluster: Kube,
  options: OpenOptions,
  fe: OpenFrontEnd,
): Promise<{ kube: Kube; reads: Kube; state: InstallState }> {
  for (const w of cluster.warnings ?? []) fe.say(`mathison-install: warning: ${w}`);
  const reads = readOnce(cluster);
  // Also the reachability and credentials check: the first requests of the run.
  return { kube: cluster, reads, state: await readInstallState(reads, options.namespace) };
}

export function installedOf(state: InstallState): Installed {
  // Without a record, the data an uninstall kept says which release it was last migrated by.
  const fromKeptData = !state.record.answers && state.keptData;
  return {
    answers: state.record.answers ?? state.keptData?.answers,
    // A rotation that did not finish: its new password is the one to go on with.
    secrets: state.pendingPassword ? { ...state.secrets, postgresPassword: state.pendingPassword } : state.secrets,
    recordName: fromKeptData
      ? `Secret ${state.namespace}/${SECRET_NAME} (the kept data's last release)`
      : `ConfigMap ${state.namespace}/${RECORD_NAME}`,
    secretName: `Secret ${state.namespace}/${SECRET_NAME}`,
  };
}

export function secretValuesOf(config: InstallConfig | undefined, state: InstallState): string[] {
  return [...Object.values(config?.secrets ?? {}), ...Object.values(state.secrets)].filter((v): v is string =>
    Boolean(v),
  );
}

/** Creates the rendered plan's Namespace (before the lock, which lives in it); one that exists already is fine. */
export async function ensureNamespace(kube: Kube, rendered: RenderedPlan): Promise<void> {
  const ns = rendered.stages[0]!.objects.find((o) => o.kind === "Namespace")!;
  try {
    await kube.create(ns);
  } catch (err) {
    // Another run created it a moment ago: the lock decides which of the two goes on.
    if (!(err instanceof KubeApiError && err.status === 409)) throw err;
  }
}

/**
 * The answers to keep: every non-secret setting as chosen (a base domain left to follow the
 * domain stays unset), and which of them are the installer's defaults rather than the user's.
 */
export function answersToRecord(
  chosen: ChosenValues,
  previousDefaults: readonly FieldKey[],
): Pick<SuccessfulRun, "answers" | "defaults"> {
  const answers: Partial<Record<FieldKey, string>> = {};
  const defaults: FieldKey[] = [];
  for (const spec of FIELDS) {
    if (spec.secret || spec.key === "namespace") continue;
    const v = chosen[spec.key];
    if (v === undefined) continue;
    answers[spec.key] = v.value;
    const kept = v.fromInstall === true;
    if (v.field === undefined || (kept && previousDefaults.includes(spec.key))) defaults.push(spec.key);
  }
  return { answers, defaults };
}

/** This run as the record's history keeps it: when, by whom, where, with which images, and how it ended. */
export function runEntryOf(
  kube: Kube,
  images: Pick<InstallConfig, "webImage" | "workerImage">,
  outcome: string,
): RunEntry {
  return {
    time: new Date().toISOString(),
    installerVersion: packageVersion(),
    webImage: images.webImage,
    workerImage: images.workerImage,
    outcome,
    user: userInfo().username,
    host: hostname(),
    context: kube.contextName,
  };
}
