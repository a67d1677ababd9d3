import type { ExternalPostgres, ExternalRedis } from "./external.js";
import type { Toleration } from "./validate.js";
export type TlsConfig =
  | { readonly mode: "cert-manager"; readonly issuer: string }
  | { readonly mode: "secret"; readonly secretName: string }
  | { readonly mode: "none" };

/** The values the application needs kept secret. Never printed, logged or put in argv. */
export interface SecretValues {
  readonly authSecret: string;
  readonly postgresPassword: string;
  readonly anthropicApiKey: string;
  /** The private registry's password, with `registry.username`; empty without. */
  readonly registryPassword: string;
  /** A docker config.json given with --docker-config; empty without. */
  readonly dockerConfig: string;
  /** Your own Redis's password (`--redis-url`); empty without. */
  readonly redisPassword: string;
  /** The CA bundles your PostgreSQL's and Redis's certificates are checked against; empty: the image's. */
  readonly postgresCaCert: string;
  readonly redisCaCert: string;
}

/** How the pods authenticate to a private registry. */
export type RegistryAuth =
  | { readonly kind: "credentials"; readonly username: string }
  | { readonly kind: "docker-config" }
  | { readonly kind: "existing"; readonly secretName: string };

export type GeneratedSecret = "authSecret" | "postgresPassword";

/** Everything the installer needs to render and apply Mathison, validated and complete. */
export interface InstallConfig {
  readonly namespace: string;
  readonly domain: string;
  readonly ingressClass: string;
  /** Namespace of the ingress controller's pods: the only source allowed to reach web. */
  readonly ingressNamespace: string;
  readonly tls: TlsConfig;
  /** Full image references, each with a tag or digest. */
  readonly webImage: string;
  readonly workerImage: string;
  readonly llmProvider: string;
  readonly mathisonMode: string;
  readonly baseDomain: string;
  readonly webReplicas: number;
  /** undefined: the cluster's default StorageClass. */
  readonly storageClass: string | undefined;
  readonly postgresStorage: string;
  readonly redisStorage: string;
  /** A mirror every image is pulled from (HOST[:PORT][/PREFIX]); undefined: each image's own registry. */
  readonly imageRegistry?: string | undefined;
  /** `small`: requests that fit a node with 1 CPU and 1.5 GiB free, one web replica. */
  readonly profile?: "standard" | "small";
  /** `--web-autoscale MIN:MAX`: a HorizontalPodAutoscaler owns web's replicas. */
  readonly webAutoscale?: { readonly min: number; readonly max: number } | undefined;
  /** Requests and limits given per workload (`Deployment/mathison-web` …), over the profile's. */
  readonly resources?: Readonly<
    Record<string, { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> }>
  >;
  /** Where every pod runs: node labels, tolerated taints, priority. */
  readonly placement?: {
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly tolerations: readonly Toleration[];
    readonly priorityClassName: string | undefined;
    readonly affinity?: Readonly<Record<string, unknown>> | undefined;
  };
  /** Credentials for a private registry (the values in `secrets`), or an existing pull Secret; undefined: public images. */
  readonly registryAuth?: RegistryAuth | undefined;
  /** `--postgres-url`: your own PostgreSQL; undefined: the install runs one in the cluster. */
  readonly externalPostgres?: ExternalPostgres | undefined;
  /** `--redis-url`: your own Redis; undefined: the install runs one in the cluster. */
  readonly externalRedis?: ExternalRedis | undefined;
  readonly secrets: SecretValues;
  /** Which secrets were generated in this run rather than supplied. */
  readonly generated: readonly GeneratedSecret[];
}

/** One invalid or missing value: rendered as one line naming the field, the value and what is allowed. */
export interface ConfigProblem {
  /** How the user gave it: `--domain`, `MATHISON_DOMAIN`, `values.yaml: domain`. */
  readonly field: string;
  /** The value as given; secrets are shown as a length, never the value. */
  readonly shownValue: string | undefined;
  readonly allowed: string;
}

export function formatProblem(p: ConfigProblem): string {
  return p.shownValue === undefined
    ? `${p.field}: missing: ${p.allowed}`
    : `${p.field}: ${p.shownValue} is not allowed: ${p.allowed}`;
}
