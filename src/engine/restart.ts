import { CONFIG_DIGEST_ANNOTATION } from "../facts/names.js";
import { type KubeObject, typed } from "../facts/objects.js";
import { KubeApiError, type Kube } from "../kube/types.js";
import { deploymentReadiness } from "./readiness.js";
import { waitUntil, WaitError } from "./wait-until.js";

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
    const digest = typed(want, "Deployment").spec?.template.metadata?.annotations?.[CONFIG_DIGEST_ANNOTATION];
    if (digest && (await digestWritten(kube, want, digest)))
      rolled.push({ name: want.metadata.name, namespace: want.metadata.namespace });
  }
  for (const at of rolled) {
    try {
      await waitUntil(
        kube,
        at.namespace ?? "",
        `Deployment ${at.name}`,
        (view) => {
          const live = view.get("Deployment", at.name);
          return live ? deploymentReadiness(live) : { state: "failed", reason: "Missing", message: "it was deleted" };
        },
        { timeoutMs, signal },
      );
    } catch (err) {
      throw err instanceof WaitError ? new RollError(err.message) : err;
    }
  }
  return rolled.map((r) => r.name);
}

/**
 * The live Deployment's pod template given `digest`, written with the version read; whether it
 * was written (false: no such Deployment, or it has the digest already). A write that loses to
 * another (its controller's status, a rollout still under way) reads again and retries.
 */
export async function digestWritten(kube: Kube, want: KubeObject, digest: string): Promise<boolean> {
  const ref = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: want.metadata.name,
    namespace: want.metadata.namespace,
  };
  for (let attempt = 1; ; attempt++) {
    const live = await kube.get(ref);
    if (!live) return false;
    const template = typed(live, "Deployment").spec!.template;
    if (template.metadata?.annotations?.[CONFIG_DIGEST_ANNOTATION] === digest) return false;
    const annotations = { ...template.metadata?.annotations, [CONFIG_DIGEST_ANNOTATION]: digest };
    const spec = {
      ...typed(live, "Deployment").spec!,
      template: { ...template, metadata: { ...template.metadata, annotations } },
    };
    try {
      await kube.replace({ ...live, spec } as KubeObject);
      return true;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409) || attempt >= CONFLICT_RETRIES) throw err;
    }
  }
}

/** How many times a write that lost to another is tried again. */
const CONFLICT_RETRIES = 5;
