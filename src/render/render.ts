import { CONFIGMAP_NAME, MIGRATION_JOB_PREFIX, REGISTRY_SECRET_NAME, SECRET_NAME } from "../facts/names.js";
import { createHash } from "node:crypto";
import type { InstallConfig } from "../config/types.js";
import { mirrored } from "../config/validate.js";
import { registryHost, registrySecret, usedEntries } from "./registry.js";
import { loadManifests, type ManifestSet } from "./manifests.js";
import { STAGES, type StageId } from "./stages.js";
import { CONFIG_DIGEST_ANNOTATION } from "../facts/names.js";
import type { KubeObject } from "../facts/objects.js";
import { customise, migrationJobName } from "./customise.js";
import { backingTitle, withExternalServices } from "./external.js";

export interface Stage {
  readonly id: StageId;
  readonly index: number;
  readonly title: string;
  readonly objects: readonly KubeObject[];
}

export interface RenderedPlan {
  readonly namespace: string;
  readonly stages: readonly Stage[];
}

export interface RenderOptions {
  /**
   * Set by `--pull` and kept in the install record: web, worker and the migration pull their
   * images again (imagePullPolicy Always) and roll out once per token, so a mutable tag such as
   * `latest` really upgrades.
   */
  readonly pullToken?: string | undefined;
  /** Your own PostgreSQL holds the data an in-cluster one held: that one is kept, parked (render/external.ts). */
  readonly parkedPostgres?: boolean;
}

/** The complete, ordered set of objects for a config. Pure: same config (and secrets), same plan. */
export function renderPlan(
  config: InstallConfig,
  manifests: ManifestSet = loadManifests(),
  options: RenderOptions = {},
): RenderedPlan {
  const drafts = STAGES.map((stage) => {
    const objects = stage.files.flatMap((file) => (manifests.get(file) ?? []).map((o) => structuredClone(o)));
    for (const obj of objects) customise(obj, config);
    const title = stage.id === "backing" ? backingTitle(config, options.parkedPostgres) : stage.title;
    return { id: stage.id, title: title ?? stage.title, objects };
  });
  withExternalServices(drafts, config, options.parkedPostgres ?? false);
  // A stage with nothing left (both databases your own) is not a step of the run.
  const stages = drafts.filter((s) => s.objects.length > 0).map((s, index) => ({ ...s, index }));
  if (config.imageRegistry) {
    for (const pod of stages.flatMap((s) => s.objects).flatMap(podSpecsOf)) {
      for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])])
        c.image = mirrored(c.image, config.imageRegistry);
    }
  }
  const plan = { namespace: config.namespace, stages };
  withPullSecret(plan, config);
  for (const obj of stages.flatMap((s) => s.objects)) sizeAndPlace(obj, config);
  if (config.webAutoscale) withAutoscaler(plan, config.webAutoscale);
  // Last: the digest is of the Secret as applied (a docker config kept as the entries used).
  rollOnChange(
    stages.flatMap((s) => s.objects),
    options.pullToken,
  );
  return plan;
}

/**
 * `--web-autoscale MIN:MAX`: a HorizontalPodAutoscaler beside web, scaling on CPU, and web's
 * replica count left out of what the installer applies, so the autoscaler owns it.
 */
function withAutoscaler(plan: RenderedPlan, bounds: { min: number; max: number }): void {
  const app = plan.stages.find((s) => s.id === "app")!;
  const web = app.objects.find((o) => o.kind === "Deployment" && o.metadata.name === "mathison-web")!;
  delete web.spec.replicas;
  (app.objects as KubeObject[]).push({
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "mathison-web", namespace: plan.namespace, labels: { ...web.metadata.labels } },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "mathison-web" },
      minReplicas: bounds.min,
      maxReplicas: bounds.max,
      metrics: [
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
      ],
    },
  });
}

/**
 * Requests for `--profile small`: everything, a surge pod of web and worker during a rolling
 * update included, fits a node with 1 CPU and 1.5 GiB allocatable (limits stay as they are).
 */
const SMALL_REQUESTS: Readonly<Record<string, { cpu: string; memory: string }>> = {
  "StatefulSet/postgres": { cpu: "200m", memory: "384Mi" },
  "StatefulSet/redis": { cpu: "25m", memory: "48Mi" },
  "Deployment/mathison-web": { cpu: "150m", memory: "256Mi" },
  "Deployment/mathison-worker": { cpu: "100m", memory: "192Mi" },
  Job: { cpu: "100m", memory: "192Mi" },
};

/** The profile's requests and where every pod may run (node labels, tolerated taints, priority). */
function sizeAndPlace(obj: KubeObject, config: InstallConfig): void {
  const pod = obj.spec?.template?.spec;
  if (!pod) return;
  const small =
    config.profile === "small"
      ? (SMALL_REQUESTS[`${obj.kind}/${obj.metadata.name}`] ?? SMALL_REQUESTS[obj.kind])
      : undefined;
  if (small) for (const c of pod.containers ?? []) c.resources = { ...c.resources, requests: { ...small } };
  const given = config.resources?.[`${obj.kind}/${obj.metadata.name}`];
  if (given) {
    const c = pod.containers[0];
    c.resources = {
      requests: { ...c.resources?.requests, ...given.requests },
      limits: { ...c.resources?.limits, ...given.limits },
    };
  }
  const placement = config.placement;
  if (!placement) return;
  if (Object.keys(placement.nodeSelector).length > 0) pod.nodeSelector = { ...placement.nodeSelector };
  if (placement.tolerations.length > 0) pod.tolerations = placement.tolerations.map((t) => ({ ...t }));
  if (placement.priorityClassName) pod.priorityClassName = placement.priorityClassName;
  // Beside what a pod has (web's spreading across nodes), the kinds given replace their own.
  if (placement.affinity) pod.affinity = { ...pod.affinity, ...structuredClone(placement.affinity) };
}

/**
 * A private registry: the pull secret beside the other secrets, named by the ServiceAccount that
 * web, worker and the migration run as, and by PostgreSQL's and Redis's pods (they run as none).
 */
function withPullSecret(plan: RenderedPlan, config: InstallConfig): void {
  if (!config.registryAuth) return;
  const secret = registrySecret(config, imagesOf(plan));
  const name = config.registryAuth.kind === "existing" ? config.registryAuth.secretName : REGISTRY_SECRET_NAME;
  const configStage = plan.stages.find((s) => s.id === "config")!;
  if (secret) (configStage.objects as KubeObject[]).push(secret);
  if (config.registryAuth.kind === "docker-config") {
    // Only what the install uses of the file is kept: credentials for other registries stay on the machine.
    const kept = configStage.objects.find((o) => o.kind === "Secret" && o.metadata.name === SECRET_NAME)!;
    const hosts = [...new Set(imagesOf(plan).map(registryHost))];
    const used = JSON.stringify({ auths: usedEntries(config.secrets.dockerConfig, hosts) });
    kept.data.DOCKER_CONFIG = Buffer.from(used).toString("base64");
  }
  for (const obj of plan.stages.flatMap((s) => s.objects)) {
    if (obj.kind === "ServiceAccount" && obj.metadata.name === "mathison") obj.imagePullSecrets = [{ name }];
    const pod = obj.spec?.template?.spec;
    if (pod && !pod.serviceAccountName) pod.imagePullSecrets = [{ name }];
  }
}

/** The pod specs of a workload (Deployment, StatefulSet, Job): where its images are. */
function podSpecsOf(obj: KubeObject): { initContainers?: { image: string }[]; containers?: { image: string }[] }[] {
  return obj.spec?.template?.spec ? [obj.spec.template.spec] : [];
}

/** Every image the plan runs, once each, in stage order. */
export function imagesOf(plan: RenderedPlan): string[] {
  const images = plan.stages
    .flatMap((s) => s.objects)
    .flatMap(podSpecsOf)
    .flatMap((pod) => [...(pod.initContainers ?? []), ...(pod.containers ?? [])].map((c) => c.image));
  return [...new Set(images)];
}

const APP_DEPLOYMENTS = new Set(["mathison-web", "mathison-worker"]);

/**
 * web and worker read the ConfigMap and Secret as environment variables at start: a digest of both
 * in their pod templates makes a change to either roll them (values cannot be read back from it).
 * The pull token does the same for `--pull`, and renames the migration Job so it runs again.
 */
function rollOnChange(objects: KubeObject[], pullToken: string | undefined): void {
  const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === CONFIGMAP_NAME);
  const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === SECRET_NAME);
  const digest = createHash("sha256")
    .update(JSON.stringify([config?.data ?? {}, secret?.data ?? {}]))
    .digest("hex")
    .slice(0, 16);
  for (const obj of objects) {
    const isApp = obj.kind === "Deployment" && APP_DEPLOYMENTS.has(obj.metadata.name);
    const isMigration = obj.kind === "Job" && obj.metadata.name.startsWith(MIGRATION_JOB_PREFIX);
    if (!isApp && !isMigration) continue;
    const template = obj.spec.template;
    template.metadata.annotations ??= {};
    if (isApp) template.metadata.annotations[CONFIG_DIGEST_ANNOTATION] = digest;
    if (!pullToken) continue;
    template.metadata.annotations["mathison.dev/pull-token"] = pullToken;
    for (const c of template.spec.containers) c.imagePullPolicy = "Always";
    if (isMigration) obj.metadata.name = migrationJobName(template.spec.containers[0].image, pullToken);
  }
}
