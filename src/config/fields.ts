import { DEFAULT_NAMESPACE } from "../facts/names.js";
import {
  POSTGRES_URL_ALLOWED,
  postgresUrlProblem,
  REDIS_URL_ALLOWED,
  redisUrlProblem,
  SSL_MODES,
  withoutPassword,
} from "./external.js";
import {
  dns1123Label,
  dns1123Subdomain,
  hostName,
  imageReference,
  imageRegistry,
  imageTag,
  integerIn,
  parseAffinity,
  parseAutoscale,
  parseNodeSelector,
  parseResourceList,
  parseTolerations,
  minLength,
  settingWord,
  llmProvider,
  storageQuantity,
  type Validator,
} from "./validate.js";

/**
 * Every setting a user can give, and the names it goes by in each source. One table so flags,
 * environment variables, values-file keys, help text and error messages never drift apart.
 */
export interface FieldSpec {
  readonly key: FieldKey;
  /** Command-line flag. For secrets it names a file holding the value: argv is visible to every user. */
  readonly flag: string;
  readonly env: string;
  readonly describe: string;
  readonly secret: boolean;
  /** undefined: no default (derived, generated or optional). */
  readonly default: string | undefined;
  readonly validate: Validator;
  /** Must come from a source, not a default, for `install` (render uses the default). */
  readonly requiredForInstall?: boolean;
  /** What values are allowed, as docs/settings.md says it (markdown). */
  readonly allowed: string;
  /** The default as docs/settings.md says it (markdown): the value, or how it is chosen. */
  readonly shownDefault: string;
  /** The value as it is used, before validation (host names are case-insensitive: lowercased); a change is said. */
  readonly normalize?: (value: string) => string;
  /** The value as messages show it, when a wrong one could hold a secret (a URL with a password). */
  readonly shown?: (value: string) => string;
}

const lowercase = (v: string): string => v.toLowerCase();

/** PostgreSQL cuts a longer name to 63 bytes: the database or user would not be the one given. */
const postgresName = (v: string): string | undefined =>
  v.length > 0 && Buffer.byteLength(v) <= 63 ? undefined : "1 to 63 bytes (PostgreSQL's limit on a name)";

export const FIELD_KEYS = [
  "namespace",
  "domain",
  "ingressClass",
  "ingressNamespace",
  "tls",
  "tag",
  "webImage",
  "workerImage",
  "llmProvider",
  "mathisonMode",
  "baseDomain",
  "webReplicas",
  "storageClass",
  "postgresStorage",
  "redisStorage",
  "postgresUrl",
  "postgresHost",
  "postgresPort",
  "postgresDatabase",
  "postgresUser",
  "postgresSslMode",
  "redisUrl",
  "imageRegistry",
  "profile",
  "nodeSelector",
  "tolerations",
  "priorityClassName",
  "affinity",
  "webAutoscale",
  "webRequests",
  "webLimits",
  "workerRequests",
  "workerLimits",
  "postgresRequests",
  "postgresLimits",
  "redisRequests",
  "redisLimits",
  "registryUsername",
  "imagePullSecret",
  "anthropicApiKey",
  "authSecret",
  "postgresPassword",
  "registryPassword",
  "dockerConfig",
  "redisPassword",
  "postgresCaCert",
  "redisCaCert",
] as const;
export type FieldKey = (typeof FIELD_KEYS)[number];

export const TLS_ALLOWED = "cert-manager:<ClusterIssuer name>, secret:<TLS Secret name> or none";
const tls: Validator = (v) => {
  if (v === "none") return undefined;
  const m = /^(cert-manager|secret):(.*)$/.exec(v);
  if (m && dns1123Subdomain(m[2]!) === undefined) return undefined;
  return `${TLS_ALLOWED}, the name a DNS-1123 subdomain`;
};
const optionalSubdomain: Validator = (v) => (v === "" ? undefined : dns1123Subdomain(v));
const anything: Validator = () => undefined;
const pemCertificates: Validator = (v) =>
  v === "" || /^-----BEGIN CERTIFICATE-----\r?\n[\s\S]+?-----END CERTIFICATE-----\s*$/.test(v.trim() + "\n")
    ? undefined
    : "PEM certificates (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)";

const resourceList: Validator = (v) =>
  v === "" || parseResourceList(v)
    ? undefined
    : "cpu=QUANTITY and/or memory=QUANTITY, comma-separated, e.g. cpu=200m,memory=256Mi";

const dockerConfigJson: Validator = (v) => {
  if (v === "") return undefined;
  try {
    const auths = (JSON.parse(v) as { auths?: unknown }).auths;
    if (auths && typeof auths === "object") return undefined;
  } catch {
    // not JSON: said below
  }
  return 'a docker config.json with an "auths" object (as docker login writes it; credential helpers are not read)';
};

export const FIELDS: readonly FieldSpec[] = [
  {
    key: "namespace",
    allowed: "DNS-1123 label",
    shownDefault: "`mathison-system`",
    flag: "--namespace",
    env: "MATHISON_NAMESPACE",
    secret: false,
    default: DEFAULT_NAMESPACE,
    describe: "namespace Mathison is installed into",
    validate: dns1123Label,
  },
  {
    key: "domain",
    allowed: "lowercase RFC 1123 host name",
    shownDefault: "`mathison.example.com` (render only; install requires it)",
    flag: "--domain",
    env: "MATHISON_DOMAIN",
    secret: false,
    default: "mathison.example.com",
    normalize: lowercase,
    describe: "host name of the web UI (the Ingress host; AUTH_URL is derived from it)",
    validate: hostName,
    requiredForInstall: true,
  },
  {
    key: "ingressClass",
    allowed: "DNS-1123 subdomain",
    shownDefault: "`nginx`",
    flag: "--ingress-class",
    env: "MATHISON_INGRESS_CLASS",
    secret: false,
    default: "nginx",
    describe: "IngressClass that serves the web UI",
    validate: dns1123Subdomain,
  },
  {
    key: "ingressNamespace",
    allowed: "namespace of the ingress controller (the NetworkPolicy lets only it reach web)",
    shownDefault: "`ingress-nginx`",
    flag: "--ingress-namespace",
    env: "MATHISON_INGRESS_NAMESPACE",
    secret: false,
    default: "ingress-nginx",
    describe: "namespace of the ingress controller pods (allowed through the NetworkPolicy)",
    validate: dns1123Label,
  },
  {
    key: "tls",
    allowed: "`cert-manager:<ClusterIssuer>`, `secret:<TLS Secret>`, `none`",
    shownDefault: "`secret:mathison-tls`",
    flag: "--tls",
    env: "MATHISON_TLS",
    secret: false,
    default: "secret:mathison-tls",
    describe: TLS_ALLOWED,
    validate: tls,
  },
  {
    key: "tag",
    allowed: "image tag, for both images",
    shownDefault: "`latest`",
    flag: "--tag",
    env: "MATHISON_TAG",
    secret: false,
    default: "latest",
    describe: "image tag for web and worker (a tag or digest inside --web-image/--worker-image wins)",
    validate: imageTag,
  },
  {
    key: "webImage",
    allowed: "image reference; its own `:tag`/`@digest` wins over `--tag`",
    shownDefault: "`mathison-web`",
    flag: "--web-image",
    env: "MATHISON_WEB_IMAGE",
    secret: false,
    default: "mathison-web",
    describe: "web image repository, optionally with :tag or @digest (also runs the migration Job)",
    validate: imageReference,
  },
  {
    key: "workerImage",
    allowed: "image reference",
    shownDefault: "`mathison-worker`",
    flag: "--worker-image",
    env: "MATHISON_WORKER_IMAGE",
    secret: false,
    default: "mathison-worker",
    describe: "worker image repository, optionally with :tag or @digest",
    validate: imageReference,
  },
  {
    key: "llmProvider",
    allowed: "`anthropic` (the installer carries only ANTHROPIC_API_KEY)",
    shownDefault: "`anthropic`",
    flag: "--llm-provider",
    env: "MATHISON_LLM_PROVIDER",
    secret: false,
    default: "anthropic",
    describe: "LLM_PROVIDER for web and worker (anthropic: the key the installer carries is ANTHROPIC_API_KEY)",
    validate: llmProvider,
  },
  {
    key: "mathisonMode",
    allowed: "lowercase word",
    shownDefault: "`self-hosted`",
    flag: "--mode",
    env: "MATHISON_MODE",
    secret: false,
    default: "self-hosted",
    describe: "MATHISON_MODE for web and worker",
    validate: settingWord,
  },
  {
    key: "baseDomain",
    allowed: "host name",
    shownDefault: "the domain",
    flag: "--base-domain",
    env: "MATHISON_BASE_DOMAIN",
    secret: false,
    default: undefined,
    normalize: lowercase,
    describe: "MATHISON_BASE_DOMAIN, the domain tenant apps are served under (default: the domain)",
    validate: hostName,
  },
  {
    key: "webReplicas",
    allowed: "1–50",
    shownDefault: "`2`",
    flag: "--web-replicas",
    env: "MATHISON_WEB_REPLICAS",
    secret: false,
    default: "2",
    describe: "number of web replicas",
    validate: integerIn(1, 50),
  },
  {
    key: "storageClass",
    allowed: "DNS-1123 subdomain",
    shownDefault: "the cluster default",
    flag: "--storage-class",
    env: "MATHISON_STORAGE_CLASS",
    secret: false,
    default: "",
    describe: "StorageClass for the PostgreSQL and Redis volumes (default: the cluster's default class)",
    validate: optionalSubdomain,
  },
  {
    key: "postgresStorage",
    allowed: "quantity > 0",
    shownDefault: "`10Gi`",
    flag: "--postgres-storage",
    env: "MATHISON_POSTGRES_STORAGE",
    secret: false,
    default: "10Gi",
    describe: "size of the PostgreSQL volume",
    validate: storageQuantity,
  },
  {
    key: "redisStorage",
    allowed: "quantity > 0",
    shownDefault: "`1Gi`",
    flag: "--redis-storage",
    env: "MATHISON_REDIS_STORAGE",
    secret: false,
    default: "1Gi",
    describe: "size of the Redis volume",
    validate: storageQuantity,
  },
  {
    key: "postgresUrl",
    allowed: `${POSTGRES_URL_ALLOWED} ([external-services.md](external-services.md))`,
    shownDefault: "none: PostgreSQL runs in the cluster",
    flag: "--postgres-url",
    env: "MATHISON_POSTGRES_URL",
    secret: false,
    default: "",
    describe: "your own PostgreSQL (postgres://USER@HOST:PORT/DATABASE, no password): none runs in the cluster",
    validate: postgresUrlProblem,
    shown: withoutPassword,
  },
  // Your own PostgreSQL by its parts instead of a URL (config/postgres-parts.ts makes the URL of them).
  {
    key: "postgresHost",
    allowed:
      "a DNS name or an IP address; with `--postgres-database` and `--postgres-user`, instead of `--postgres-url`",
    shownDefault: "none",
    flag: "--postgres-host",
    env: "MATHISON_POSTGRES_HOST",
    secret: false,
    default: undefined,
    describe: "your own PostgreSQL's host, instead of --postgres-url (with --postgres-database, --postgres-user)",
    validate: (v) =>
      postgresUrlProblem(`postgres://u@${v.includes(":") ? `[${v}]` : v}/d`) && "a DNS name or an IP address",
  },
  {
    key: "postgresPort",
    allowed: "1 to 65535, with `--postgres-host`",
    shownDefault: "`5432`",
    flag: "--postgres-port",
    env: "MATHISON_POSTGRES_PORT",
    secret: false,
    default: undefined,
    describe: "your own PostgreSQL's port (with --postgres-host; default 5432)",
    validate: integerIn(1, 65535),
  },
  {
    key: "postgresDatabase",
    allowed: "a database name (1 to 63 bytes), with `--postgres-host`",
    shownDefault: "none",
    flag: "--postgres-database",
    env: "MATHISON_POSTGRES_DATABASE",
    secret: false,
    default: undefined,
    describe: "your own PostgreSQL's database (with --postgres-host)",
    validate: postgresName,
  },
  {
    key: "postgresUser",
    allowed: "a user name (1 to 63 bytes), with `--postgres-host`",
    shownDefault: "none",
    flag: "--postgres-user",
    env: "MATHISON_POSTGRES_USER",
    secret: false,
    default: undefined,
    describe: "your own PostgreSQL's user (with --postgres-host)",
    validate: postgresName,
  },
  {
    key: "postgresSslMode",
    allowed: SSL_MODES.map((m) => `\`${m}\``).join(", ") + " (libpq's `sslmode`)",
    shownDefault: "`verify-full`",
    flag: "--postgres-sslmode",
    env: "MATHISON_POSTGRES_SSLMODE",
    secret: false,
    default: "verify-full",
    describe: "how the app checks your PostgreSQL's TLS (with --postgres-url): disable … verify-full",
    validate: (v) => ((SSL_MODES as readonly string[]).includes(v) ? undefined : SSL_MODES.join(", ")),
  },
  {
    key: "redisUrl",
    allowed: `${REDIS_URL_ALLOWED} ([external-services.md](external-services.md))`,
    shownDefault: "none: Redis runs in the cluster",
    flag: "--redis-url",
    env: "MATHISON_REDIS_URL",
    secret: false,
    default: "",
    describe: "your own Redis (redis://HOST:PORT/DB, rediss:// for TLS, no password): none runs in the cluster",
    validate: redisUrlProblem,
    shown: withoutPassword,
  },
  {
    key: "imageRegistry",
    allowed: "`HOST[:PORT][/PREFIX]`: a mirror for every image ([images.md](images.md))",
    shownDefault: "each image's own registry",
    flag: "--image-registry",
    env: "MATHISON_IMAGE_REGISTRY",
    secret: false,
    default: "",
    describe:
      "a mirror every image is pulled from instead (HOST[:PORT][/PREFIX]; render --images lists what to copy there)",
    validate: imageRegistry,
  },
  {
    key: "profile",
    allowed:
      "`standard`, or `small`: requests that fit a node with 1 CPU and 1.5 GiB free (rolling updates included), one web replica unless `--web-replicas`",
    shownDefault: "`standard`",
    flag: "--profile",
    env: "MATHISON_PROFILE",
    secret: false,
    default: "standard",
    describe:
      "sizing: standard (the seeds' budgets), or small (fits a node with 1 CPU and 1.5 GiB free; one web replica)",
    validate: (v) => (v === "standard" || v === "small" ? undefined : "standard or small"),
  },
  {
    key: "nodeSelector",
    allowed: "`KEY=VALUE,…`: every pod runs on nodes with these labels",
    shownDefault: "none",
    flag: "--node-selector",
    env: "MATHISON_NODE_SELECTOR",
    secret: false,
    default: "",
    describe: "labels every pod's node must have: KEY=VALUE,… (a dedicated node pool)",
    validate: (v) =>
      v === "" || parseNodeSelector(v)
        ? undefined
        : "KEY=VALUE pairs, comma-separated, each a valid label key and value",
  },
  {
    key: "tolerations",
    allowed: "`KEY[=VALUE]:EFFECT,…` (as `kubectl taint` writes them): taints every pod tolerates",
    shownDefault: "none",
    flag: "--tolerations",
    env: "MATHISON_TOLERATIONS",
    secret: false,
    default: "",
    describe: "taints every pod tolerates, as kubectl taint writes them: KEY[=VALUE]:EFFECT,…",
    validate: (v) =>
      v === "" || parseTolerations(v)
        ? undefined
        : "KEY[=VALUE]:EFFECT, comma-separated; EFFECT NoSchedule, PreferNoSchedule or NoExecute",
  },
  {
    key: "priorityClassName",
    allowed: "a PriorityClass every pod runs with",
    shownDefault: "none",
    flag: "--priority-class",
    env: "MATHISON_PRIORITY_CLASS",
    secret: false,
    default: "",
    describe: "a PriorityClass every pod runs with",
    validate: optionalSubdomain,
  },
  {
    key: "affinity",
    allowed:
      "a pod spec's `affinity` as JSON (`nodeAffinity`, `podAffinity`, `podAntiAffinity`), on every pod; a kind given replaces the pod's own",
    shownDefault: "web spreads across nodes (soft)",
    flag: "--affinity",
    env: "MATHISON_AFFINITY",
    secret: false,
    default: "",
    describe:
      "a pod affinity every pod gets, as JSON (nodeAffinity, podAffinity, podAntiAffinity); web keeps spreading across nodes",
    validate: (v) =>
      v === "" || parseAffinity(v)
        ? undefined
        : "a JSON object with nodeAffinity, podAffinity and/or podAntiAffinity, as a pod spec's affinity",
  },
  {
    key: "webAutoscale",
    allowed:
      "`MIN:MAX`: a HorizontalPodAutoscaler scales web on CPU (70 %) and owns its replicas; the preflight warns without metrics-server",
    shownDefault: "none",
    flag: "--web-autoscale",
    env: "MATHISON_WEB_AUTOSCALE",
    secret: false,
    default: "",
    describe: "MIN:MAX web replicas, scaled on CPU (70 %) by a HorizontalPodAutoscaler; needs metrics-server",
    validate: (v) => (v === "" || parseAutoscale(v) ? undefined : "MIN:MAX, whole numbers with 1 ≤ MIN ≤ MAX ≤ 50"),
  },
  {
    key: "webRequests",
    allowed: "`cpu=QUANTITY,memory=QUANTITY`: that workload's requests",
    shownDefault: "the seeds' budgets (or the small profile's)",
    flag: "--web-requests",
    env: "MATHISON_WEB_REQUESTS",
    secret: false,
    default: "",
    describe: "web's requests: cpu=…,memory=… (default: the seeds' budgets, or the small profile's)",
    validate: resourceList,
  },
  {
    key: "webLimits",
    allowed: "`cpu=QUANTITY,memory=QUANTITY`: that workload's limits",
    shownDefault: "the seeds' budgets",
    flag: "--web-limits",
    env: "MATHISON_WEB_LIMITS",
    secret: false,
    default: "",
    describe: "web's limits: cpu=…,memory=… (default: the seeds' budgets, or the small profile's)",
    validate: resourceList,
  },
  {
    key: "workerRequests",
    allowed: "`cpu=QUANTITY,memory=QUANTITY`: that workload's requests",
    shownDefault: "the seeds' budgets (or the small profile's)",
    flag: "--worker-requests",
    env: "MATHISON_WORKER_REQUESTS",
    secret: false,
    default: "",
    describe: "worker's requests: cpu=…,memory=… (default: the seeds' budgets, or the small profile's)",
    validate: resourceList,
  },
  {
    key: "workerLimits",
    allowed: "`cpu=QUANTITY,memory=QUANTITY`: that workload's limits",
    shownDefault: "the seeds' budgets",
    flag: "--worker-limits",
    env: "MATHISON_WORKER_LIMITS",
    secret: false,
    default: "",
    describe: "worker's limits: cpu=…,memory=… (default: the seeds' budgets, or the small profile's)",
    validate: resourceList,
  },
  {
    key: "postgresRequests",
    allowed: "`cpu=QUANTITY,memory=QUANTITY`: that workload's requests",
    shownDefault: "the seeds' budgets (or the small profile's)",
    flag: "--postgres-requests",
    env: "MATHISON_POSTGRES_REQUESTS",
    secret: false,
    default: "",
    describe: "PostgreSQL's requests: cpu=…,memory=… (default: the seeds' budgets, or the small profile's)",
    validate: resourceList,
  },
  {
    key: "postgresLimits",
    allowed: "`cpu=QUANTITY,memory=QUANTITY`: that workload's limits",
    shownDefault: "the seeds' budgets",
    flag: "--postgres-limits",
    env: "MATHISON_POSTGRES_LIMITS",
    secret: false,
    default: "",
    describe: "PostgreSQL's limits: cpu=…,memory=… (default: the seeds' budgets, or the small profile's)",
    validate: resourceList,
  },
  {
    key: "redisRequests",
    allowed: "`cpu=QUANTITY,memory=QUANTITY`: that workload's requests",
    shownDefault: "the seeds' budgets (or the small profile's)",
    flag: "--redis-requests",
    env: "MATHISON_REDIS_REQUESTS",
    secret: false,
    default: "",
    describe: "Redis's requests: cpu=…,memory=… (default: the seeds' budgets, or the small profile's)",
    validate: resourceList,
  },
  {
    key: "redisLimits",
    allowed: "`cpu=QUANTITY,memory=QUANTITY`: that workload's limits",
    shownDefault: "the seeds' budgets",
    flag: "--redis-limits",
    env: "MATHISON_REDIS_LIMITS",
    secret: false,
    default: "",
    describe: "Redis's limits: cpu=…,memory=… (default: the seeds' budgets, or the small profile's)",
    validate: resourceList,
  },
  {
    key: "registryUsername",
    allowed: "with `--registry-password-file`: a pull secret for the images' registries",
    shownDefault: "none",
    flag: "--registry-username",
    env: "MATHISON_REGISTRY_USERNAME",
    secret: false,
    default: "",
    describe: "user for the private registry the images come from (with --registry-password-file)",
    validate: (v) =>
      /^[^\s:]*$/.test(v)
        ? undefined
        : "a registry user name without spaces or ':' (basic auth joins user and password with ':')",
  },
  {
    key: "imagePullSecret",
    allowed: "an existing `kubernetes.io/dockerconfigjson` Secret in the namespace",
    shownDefault: "none",
    flag: "--image-pull-secret",
    env: "MATHISON_IMAGE_PULL_SECRET",
    secret: false,
    default: "",
    describe: "an existing kubernetes.io/dockerconfigjson Secret in the namespace the pods pull with",
    validate: optionalSubdomain,
  },
  {
    key: "anthropicApiKey",
    allowed: "a file holding the key",
    shownDefault: "empty",
    flag: "--anthropic-api-key-file",
    env: "ANTHROPIC_API_KEY",
    secret: true,
    default: "",
    describe: "file holding ANTHROPIC_API_KEY",
    validate: anything,
  },
  {
    key: "authSecret",
    allowed: "≥ 32 characters",
    shownDefault: "generated",
    flag: "--auth-secret-file",
    env: "MATHISON_AUTH_SECRET",
    secret: true,
    default: undefined,
    describe: "file holding AUTH_SECRET (default: 32 random bytes, generated once and kept)",
    validate: minLength(32),
  },
  {
    key: "postgresPassword",
    allowed: "≥ 16 characters; your own PostgreSQL's (`--postgres-url`) as it is",
    shownDefault: "generated (never for your own PostgreSQL)",
    flag: "--postgres-password-file",
    env: "MATHISON_POSTGRES_PASSWORD",
    secret: true,
    default: undefined,
    describe: "file holding POSTGRES_PASSWORD (default: generated once and kept; with --postgres-url: your user's)",
    // ≥ 16 for the PostgreSQL the install runs: resolveConfig's externalProblems, which knows which.
    validate: minLength(1),
  },
  {
    key: "registryPassword",
    allowed: "a file holding the registry's password or token (kept, as the other secrets)",
    shownDefault: "none",
    flag: "--registry-password-file",
    env: "MATHISON_REGISTRY_PASSWORD",
    secret: true,
    default: "",
    describe: "file holding the private registry's password or token (kept, as the other secrets)",
    validate: anything,
  },
  {
    key: "dockerConfig",
    allowed: "a docker `config.json`: its entries for the images' registries become the pull secret",
    shownDefault: "none",
    flag: "--docker-config",
    env: "MATHISON_DOCKER_CONFIG",
    secret: true,
    default: "",
    describe: "a docker config.json: the entries for the registries the images use become the pull secret",
    validate: dockerConfigJson,
  },
  {
    key: "redisPassword",
    allowed: "your Redis's password (AUTH), with --redis-url",
    shownDefault: "none",
    flag: "--redis-password-file",
    env: "MATHISON_REDIS_PASSWORD",
    secret: true,
    default: "",
    describe: "file holding your Redis's password (with --redis-url)",
    validate: anything,
  },
  {
    key: "postgresCaCert",
    allowed:
      "PEM certificates: the CA bundle your PostgreSQL's certificate is checked against (RDS's, Cloud SQL's server CA)",
    shownDefault: "none: the image's trusted CAs",
    flag: "--postgres-ca-file",
    env: "MATHISON_POSTGRES_CA",
    secret: true,
    default: "",
    describe: "file holding the CA bundle your PostgreSQL's TLS certificate is checked against",
    validate: pemCertificates,
  },
  {
    key: "redisCaCert",
    allowed: "PEM certificates: the CA bundle your Redis's certificate is checked against",
    shownDefault: "none: the image's trusted CAs",
    flag: "--redis-ca-file",
    env: "MATHISON_REDIS_CA",
    secret: true,
    default: "",
    describe: "file holding the CA bundle your Redis's TLS certificate is checked against (rediss://)",
    validate: pemCertificates,
  },
];

export function fieldSpec(key: FieldKey): FieldSpec {
  return FIELDS.find((f) => f.key === key)!;
}
