import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CheckOutcome } from "../checks/types.js";
import type { EngineEvent } from "../engine/events.js";
import type { Kube } from "../kube/types.js";
import type { InstallState } from "../record/store.js";
import { redact, toYaml } from "../render/output.js";
import type { RenderedPlan } from "../render/render.js";
import { tarGz } from "./tar.js";
import { parseInventoryKey, type KubeObject, typed } from "../facts/objects.js";

export const LOG_LINES = 500;

/** Kinds whose objects go into the bundle as the cluster has them (Secrets by key names only). */
const NAMESPACED: readonly (readonly [string, string])[] = [
  ["apps/v1", "Deployment"],
  ["apps/v1", "StatefulSet"],
  ["apps/v1", "ReplicaSet"],
  ["batch/v1", "Job"],
  ["v1", "Service"],
  ["v1", "ConfigMap"],
  ["v1", "PersistentVolumeClaim"],
  ["v1", "ServiceAccount"],
  ["networking.k8s.io/v1", "Ingress"],
  ["networking.k8s.io/v1", "NetworkPolicy"],
  ["policy/v1", "PodDisruptionBudget"],
  ["coordination.k8s.io/v1", "Lease"],
];

export interface BundleInput {
  readonly kube: Kube;
  readonly state: InstallState;
  readonly installerVersion: string;
  /** The failed run's events, its plan and preflight, when the bundle is made for a run. */
  readonly events?: readonly EngineEvent[];
  readonly rendered?: RenderedPlan;
  readonly preflight?: readonly CheckOutcome[];
  /** Every secret value the install knows of: no file may contain one, in any common encoding. */
  readonly secretValues: readonly string[];
}

function tidy(obj: KubeObject): KubeObject {
  const { managedFields: _m, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** What a describe of a pod says first: phase, node, conditions, each container's state and restarts. */
export function describePod(pod: KubeObject): string {
  const s = pod.status ?? {};
  const lines = [
    `Pod ${pod.metadata.name}`,
    `  node: ${pod.spec?.nodeName ?? "(not scheduled)"}`,
    `  phase: ${s.phase ?? "?"}`,
    "  conditions:",
  ];
  for (const c of (s.conditions as { type: string; status: string; reason?: string; message?: string }[] | undefined) ??
    []) {
    lines.push(`    ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message ? `: ${c.message}` : ""}`);
  }
  lines.push("  containers:");
  for (const c of (s.containerStatuses as
    | { name: string; image: string; ready: boolean; restartCount: number; state?: object; lastState?: object }[]
    | undefined) ?? []) {
    lines.push(
      `    ${c.name} (${c.image}): ready=${c.ready}, restarts=${c.restartCount}, state=${JSON.stringify(c.state ?? {})}, last=${JSON.stringify(c.lastState ?? {})}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

async function podFiles(kube: Kube, namespace: string, files: Map<string, string>): Promise<void> {
  const pods = (await kube.list("v1", "Pod", namespace)).items;
  await Promise.all(
    pods.map(async (pod) => {
      const name = pod.metadata.name;
      files.set(`pods/${name}.txt`, describePod(pod));
      const containers = (typed(pod, "Pod").spec?.containers ?? []).map((c) => c.name);
      await Promise.all(
        containers.flatMap((container) =>
          [false, true].map(async (previous) => {
            const text = await kube
              .logs(namespace, name, container, { tailLines: LOG_LINES, previous })
              .catch((err: Error) => (previous ? undefined : `(no log: ${err.message})\n`));
            if (text !== undefined) files.set(`logs/${name}/${container}${previous ? ".previous" : ""}.log`, text);
          }),
        ),
      );
    }),
  );
}

async function objectFiles(kube: Kube, state: InstallState, files: Map<string, string>): Promise<void> {
  const ns = state.namespace;
  const lists = await Promise.all(
    NAMESPACED.map(([apiVersion, kind]) =>
      kube.list(apiVersion, kind, ns).then((l) => l.items.map((o) => ({ ...o, apiVersion, kind }))),
    ),
  );
  for (const obj of lists.flat()) files.set(`objects/${obj.kind}-${obj.metadata.name}.yaml`, toYaml(tidy(obj)));
  // Secrets by their key names only: the values never enter the bundle.
  for (const secret of (await kube.list("v1", "Secret", ns)).items) {
    files.set(
      `objects/Secret-${secret.metadata.name}.yaml`,
      toYaml({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: secret.metadata.name, namespace: ns },
        type: secret.type,
        keys: Object.keys(secret.data ?? {}),
      }),
    );
  }
  const clusterScoped = state.record.inventory
    .map(parseInventoryKey)
    .filter((r) => r && !r.namespace && r.kind !== "Namespace");
  for (const ref of clusterScoped) {
    const obj = await kube.get(ref!).catch(() => undefined);
    if (obj) files.set(`objects/${obj.kind}-${obj.metadata.name}.yaml`, toYaml(tidy(obj)));
  }
  const events = (await kube.list("v1", "Event", ns)).items.map(
    (e) =>
      `${e.lastTimestamp ?? e.eventTime ?? ""} ${e.type} ${e.reason} ${e.involvedObject?.kind}/${e.involvedObject?.name}: ${e.message}`,
  );
  files.set("namespace-events.txt", `${events.sort().join("\n")}\n`);
}

/** The forms a secret value could take in a file: as is, base64 (a Secret's data), percent-encoded (DATABASE_URL). */
function forms(value: string): string[] {
  return [
    value,
    Buffer.from(value).toString("base64"),
    Buffer.from(value).toString("base64url"),
    encodeURIComponent(value),
  ];
}

/** The first file that contains a secret value in any of its forms, or undefined. */
export function findSecret(files: ReadonlyMap<string, string>, secretValues: readonly string[]): string | undefined {
  const needles = secretValues.filter((v) => v.length >= 8).flatMap(forms);
  for (const [name, text] of files) if (needles.some((n) => text.includes(n))) return name;
  return undefined;
}

export class SecretInBundleError extends Error {}

/** Collects the bundle's files: built without reading any Secret value into them, then scanned for every one anyway. */
export async function collectBundle(input: BundleInput): Promise<Map<string, string>> {
  const { kube, state } = input;
  const files = new Map<string, string>();
  const version = await kube.serverVersion().catch((err: Error) => ({ gitVersion: `unknown (${err.message})` }));
  files.set(
    "versions.json",
    `${JSON.stringify({ installer: input.installerVersion, node: process.version, cluster: version.gitVersion, context: kube.contextName, namespace: state.namespace }, null, 2)}\n`,
  );
  if (input.events) {
    files.set("events.jsonl", `${input.events.map((e) => JSON.stringify(e)).join("\n")}\n`);
    // The failing container's lines as the run saw them: its pod may be gone by now (a failed Job's is deleted).
    const failed = input.events.find((e) => e.event === "failed");
    if (failed?.event === "failed")
      files.set(
        "failure.log",
        `${failed.object ?? failed.stage}: ${failed.reason}: ${failed.message}\nhint: ${failed.hint}\n${failed.logs.join("\n")}\n`,
      );
  }
  if (input.rendered)
    files.set("plan.yaml", input.rendered.stages.flatMap((s) => s.objects.map((o) => toYaml(redact(o)))).join("---\n"));
  if (input.preflight) files.set("preflight.json", `${JSON.stringify(input.preflight, null, 2)}\n`);
  if (state.namespaceExists) {
    // The pods first: a failed Job's pod, and its logs, may be deleted any moment.
    await podFiles(kube, state.namespace, files);
    await objectFiles(kube, state, files);
  }
  const leak = findSecret(files, input.secretValues);
  if (leak)
    throw new SecretInBundleError(`the support bundle would contain a secret value (in ${leak}); it was not written`);
  return files;
}

/** Writes the bundle (mode 0600) into `dir`, or the temporary directory when `dir` is not writable; returns its path. */
export function writeBundle(
  files: ReadonlyMap<string, string>,
  namespace: string,
  dir: string = process.cwd(),
  now = new Date(),
): string {
  const name = `mathison-support-${namespace}-${now.toISOString().replace(/[:.]/g, "-")}.tar.gz`;
  const data = tarGz(files, now.getTime());
  for (const target of [dir, tmpdir()]) {
    const path = join(target, name);
    try {
      writeFileSync(path, data, { mode: 0o600, flag: "wx" });
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EACCES" && (err as NodeJS.ErrnoException).code !== "EROFS")
        throw err;
    }
  }
  throw new Error(`could not write ${name} here or in ${tmpdir()}`);
}
