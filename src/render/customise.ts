import { createHash } from "node:crypto";
import { CONFIGMAP_NAME, DEFAULT_NAMESPACE, MIGRATION_JOB_PREFIX, SECRET_NAME } from "../facts/names.js";
import { databaseUrl, postgresHost, redisUrl } from "../config/secrets.js";
import type { InstallConfig } from "../config/types.js";
import { parseImageReference } from "../config/validate.js";
import { isNamespaced, type KubeObject } from "../facts/objects.js";

/** Cluster-scoped names carry the namespace when it is not the default, so installs don't collide. */
export function clusterScopedName(namespace: string): string {
  return namespace === DEFAULT_NAMESPACE ? "mathison" : `mathison-${namespace}`;
}

/** One Job per web image: a Job's pod template is immutable, and a new image needs a new migration. */
export function migrationJobName(webImage: string, pullToken?: string): string {
  return (
    MIGRATION_JOB_PREFIX +
    createHash("sha256")
      .update(pullToken ? `${webImage} ${pullToken}` : webImage)
      .digest("hex")
      .slice(0, 10)
  );
}

export function authUrl(config: Pick<InstallConfig, "tls" | "domain">): string {
  return `${config.tls.mode === "none" ? "http" : "https"}://${config.domain}`;
}

/** The answers written into one of the seed's objects: names, namespace, images, sizes, the Ingress, the Secret. */
export function customise(obj: KubeObject, config: InstallConfig): void {
  const ns = config.namespace;
  if (isNamespaced(obj)) obj.metadata.namespace = ns;
  const key = `${obj.kind}/${obj.metadata.name}`;
  switch (key) {
    case "Namespace/mathison-system":
      obj.metadata.name = ns;
      break;
    case "ClusterRole/mathison":
      obj.metadata.name = clusterScopedName(ns);
      break;
    case "ClusterRoleBinding/mathison":
      obj.metadata.name = clusterScopedName(ns);
      obj.roleRef.name = clusterScopedName(ns);
      for (const subject of obj.subjects) subject.namespace = ns;
      break;
    case `ConfigMap/${CONFIGMAP_NAME}`:
      Object.assign(obj.data, {
        AUTH_URL: authUrl(config),
        LLM_PROVIDER: config.llmProvider,
        MATHISON_MODE: config.mathisonMode,
        MATHISON_BASE_DOMAIN: config.baseDomain,
        POSTGRES_HOST: postgresHost(ns),
        REDIS_URL: redisUrl(ns),
      });
      break;
    case `Secret/${SECRET_NAME}`: {
      // `data`, not `stringData`: it is what the API server stores, so a re-apply of the same
      // values is recognisably unchanged.
      const values: Record<string, string> = {
        AUTH_SECRET: config.secrets.authSecret,
        POSTGRES_PASSWORD: config.secrets.postgresPassword,
        DATABASE_URL: databaseUrl(ns, config.secrets.postgresPassword),
        ANTHROPIC_API_KEY: config.secrets.anthropicApiKey,
        // Kept here so a re-run keeps them; only when given, so installs without them see no change.
        ...(config.secrets.registryPassword ? { REGISTRY_PASSWORD: config.secrets.registryPassword } : {}),
        ...(config.secrets.dockerConfig ? { DOCKER_CONFIG: config.secrets.dockerConfig } : {}),
      };
      delete obj.stringData;
      obj.data = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
      break;
    }
    case "StatefulSet/postgres":
      setVolumeClaim(obj, config.postgresStorage, config.storageClass);
      break;
    case "StatefulSet/redis":
      setVolumeClaim(obj, config.redisStorage, config.storageClass);
      break;
    case "Job/mathison-migrate":
      obj.metadata.name = migrationJobName(config.webImage);
      setImage(obj, obj.spec.template, config.webImage);
      break;
    case "Deployment/mathison-web":
      obj.spec.replicas = config.webReplicas;
      setImage(obj, obj.spec.template, config.webImage);
      break;
    case "Deployment/mathison-worker":
      setImage(obj, obj.spec.template, config.workerImage);
      break;
    case "Ingress/mathison-web":
      customiseIngress(obj, config);
      break;
    case "NetworkPolicy/allow-ingress-controller-to-web":
      obj.spec.ingress[0].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"] =
        config.ingressNamespace;
      break;
  }
}

function setImage(obj: KubeObject, template: KubeObject, image: string): void {
  const version = versionLabel(image);
  obj.metadata.labels!["app.kubernetes.io/version"] = version;
  template.metadata.labels!["app.kubernetes.io/version"] = version;
  for (const container of template.spec.containers) container.image = image;
}

/** The image's tag (or the digest's first 12 hex digits) shaped into a valid label value. */
export function versionLabel(image: string): string {
  const ref = parseImageReference(image)!;
  const raw = ref.digest ? ref.digest.split(":")[1]!.slice(0, 12) : (ref.tag ?? "latest");
  return raw.slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "") || "unknown";
}

function setVolumeClaim(obj: KubeObject, size: string, storageClass: string | undefined): void {
  const claim = obj.spec.volumeClaimTemplates[0];
  claim.spec.resources.requests.storage = size;
  if (storageClass !== undefined) claim.spec.storageClassName = storageClass;
}

function customiseIngress(obj: KubeObject, config: InstallConfig): void {
  obj.spec.ingressClassName = config.ingressClass;
  obj.spec.rules[0].host = config.domain;
  switch (config.tls.mode) {
    case "none":
      delete obj.spec.tls;
      break;
    case "secret":
      obj.spec.tls = [{ hosts: [config.domain], secretName: config.tls.secretName }];
      break;
    case "cert-manager":
      obj.metadata.annotations!["cert-manager.io/cluster-issuer"] = config.tls.issuer;
      obj.spec.tls = [{ hosts: [config.domain], secretName: "mathison-tls" }];
      break;
  }
}
