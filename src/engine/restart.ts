import { CONFIG_DIGEST_ANNOTATION } from "../facts/names.js";
import { type KubeObject, typed } from "../facts/objects.js";
import type { Kube } from "../kube/types.js";
import { deploymentReadiness } from "./readiness.js";

const POLL_MS = 500;

/** A roll that failed or did not finish in time; the Secret is already changed. */
export class RollError extends Error {}

/**
 * Web and worker restarted with the values a changed Secret holds, as an upgrade restarts them:
 * each live Deployment's pod template gets the digest the rendered one carries (so the next
 * install sees nothing to change), written with the version read, then waited on until rolled
 * out. Deployments that do not exist yet, or carry that digest already, are left alone; returns
 * the names rolled.
 */
export async function rollToDigest(
  kube: Kube,
  rendered: readonly KubeObject[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const rolled: { name: string; namespace: string | undefined }[] = [];
  for (const want of rendered.filter((o) => o.kind === "Deployment")) {
    const ref = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: want.metadata.name,
      namespace: want.metadata.namespace,
    };
    const live = await kube.get(ref);
    const digest = typed(want, "Deployment").spec?.template.metadata?.annotations?.[CONFIG_DIGEST_ANNOTATION];
    if (!live || !digest) continue;
    const template = typed(live, "Deployment").spec!.template;
    if (template.metadata?.annotations?.[CONFIG_DIGEST_ANNOTATION] === digest) continue;
    const annotations = { ...template.metadata?.annotations, [CONFIG_DIGEST_ANNOTATION]: digest };
    const spec = {
      ...typed(live, "Deployment").spec!,
      template: { ...template, metadata: { ...template.metadata, annotations } },
    };
    await kube.replace({ ...live, spec } as KubeObject);
    rolled.push({ name: want.metadata.name, namespace: want.metadata.namespace });
  }
  const deadline = Date.now() + timeoutMs;
  for (const at of rolled) await rolledOut(kube, at, deadline, signal);
  return rolled.map((r) => r.name);
}

async function rolledOut(
  kube: Kube,
  at: { name: string; namespace: string | undefined },
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (;;) {
    const live = await kube.get({ apiVersion: "apps/v1", kind: "Deployment", ...at });
    const r = live ? deploymentReadiness(live) : { state: "failed" as const, message: "it was deleted" };
    if (r.state === "ready") return;
    if (r.state === "failed") throw new RollError(`Deployment ${at.name}: ${r.message}`);
    if (Date.now() > deadline) throw new RollError(`Deployment ${at.name} did not roll out in time: ${r.message}`);
    if (signal?.aborted) throw new RollError("interrupted");
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
