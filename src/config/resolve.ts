import { FIELDS, fieldSpec, type FieldKey, type FieldSpec } from "./fields.js";
import { parsePostgresUrl, parseRedisUrl, type SslMode } from "./external.js";
import { generateAuthSecret, generatePostgresPassword } from "./secrets.js";
import type { RawSource, RawValue } from "./sources.js";
import type { ConfigProblem, GeneratedSecret, InstallConfig, RegistryAuth, TlsConfig } from "./types.js";
import {
  parseAffinity,
  parseAutoscale,
  parseImageReference,
  parseNodeSelector,
  parseResourceList,
  parseTolerations,
} from "./validate.js";

export interface ResolveOptions {
  /** install needs values the user must choose (the domain); render may use placeholders. */
  readonly forInstall?: boolean;
  /** With forInstall: the API key may still come from the cluster's record, so its absence is not yet a problem. */
  readonly apiKeyMayComeLater?: boolean;
  /** The install's record is not read yet: a setting's companion (its database's URL) may come from it. */
  readonly companionsMayComeLater?: boolean;
}

/** Each setting's value and the source it came from (undefined: the default). */
export type ChosenValues = Readonly<
  Partial<
    Record<FieldKey, { readonly value: string; readonly field: string | undefined; readonly fromInstall?: boolean }>
  >
>;

export type ResolveResult =
  | {
      readonly ok: true;
      readonly config: InstallConfig;
      readonly chosen: ChosenValues;
      readonly notices: readonly string[];
    }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/**
 * Merges sources, highest precedence first (flags, environment, values file, …), over the
 * defaults; validates every value and reports all problems at once.
 */
export function resolveConfig(sources: readonly RawSource[], options: ResolveOptions = {}): ResolveResult {
  const { problems, notices, chosen, origins } = chooseValues(sources, options);
  if (
    options.forInstall &&
    !options.apiKeyMayComeLater &&
    chosen.get("llmProvider") === "anthropic" &&
    !chosen.get("anthropicApiKey")
  ) {
    const spec = FIELDS.find((f) => f.key === "anthropicApiKey")!;
    problems.push({
      field: spec.env,
      shownValue: undefined,
      allowed: `the Anthropic API key web and worker call the LLM with; set ${spec.env} or pass ${spec.flag} (a re-run keeps the installed one)`,
    });
  }
  problems.push(...registryProblems(chosen, origins), ...externalProblems(chosen, origins, options));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: configOf((key) => chosen.get(key), origins), chosen: origins, notices };
}

type Origins = Partial<Record<FieldKey, { value: string; field: string | undefined; fromInstall?: boolean }>>;

/** Each field's value from the first source that gives it (normalised, validated), else its default. */
function chooseValues(
  sources: readonly RawSource[],
  options: ResolveOptions,
): { problems: ConfigProblem[]; notices: string[]; chosen: Map<FieldKey, string>; origins: Origins } {
  const problems: ConfigProblem[] = [];
  const notices: string[] = [];
  const chosen = new Map<FieldKey, string>();
  const origins: Origins = {};
  for (const spec of FIELDS) {
    const raw = pick(sources, spec.key);
    const given = raw && spec.normalize ? { ...raw, value: spec.normalize(raw.value) } : raw;
    if (raw && given && given.value !== raw.value)
      notices.push(
        `${raw.field}: ${JSON.stringify(raw.value)} is used as ${JSON.stringify(given.value)} (host names are case-insensitive)`,
      );
    if (given) {
      const allowed = spec.validate(given.value);
      if (allowed !== undefined) problems.push({ field: given.field, shownValue: show(spec, given.value), allowed });
      else chosen.set(spec.key, given.value);
      origins[spec.key] = given;
    } else if (options.forInstall && spec.requiredForInstall) {
      problems.push({
        field: spec.flag,
        shownValue: undefined,
        allowed: `${spec.describe}; give ${spec.flag}, ${spec.env} or \`${spec.key}\` in --values`,
      });
    } else if (spec.default !== undefined) {
      chosen.set(spec.key, spec.default);
      origins[spec.key] = { value: spec.default, field: undefined };
    }
  }
  return { problems, notices, chosen, origins };
}

/** The install's configuration from the chosen values (all valid); secrets not given are generated. */
function configOf(get: (key: FieldKey) => string | undefined, origins: Origins): InstallConfig {
  const tag = get("tag")!;
  const domain = get("domain")!;
  const generated: GeneratedSecret[] = [];
  const supplied = (key: GeneratedSecret, generate: () => string): string => {
    const value = get(key);
    if (value !== undefined) return value;
    generated.push(key);
    return generate();
  };
  const config: InstallConfig = {
    namespace: get("namespace")!,
    domain,
    ingressClass: get("ingressClass")!,
    ingressNamespace: get("ingressNamespace")!,
    tls: parseTls(get("tls")!),
    webImage: withTag(get("webImage")!, tag),
    workerImage: withTag(get("workerImage")!, tag),
    llmProvider: get("llmProvider")!,
    mathisonMode: get("mathisonMode")!,
    baseDomain: get("baseDomain") ?? domain,
    // A small profile runs one web replica unless one was asked for.
    webReplicas:
      get("profile") === "small" && origins.webReplicas?.field === undefined ? 1 : Number(get("webReplicas")),
    profile: get("profile") === "small" ? "small" : "standard",
    webAutoscale: get("webAutoscale") ? parseAutoscale(get("webAutoscale")!) : undefined,
    resources: resourcesOf(get),
    placement: {
      nodeSelector: get("nodeSelector") ? parseNodeSelector(get("nodeSelector")!)! : {},
      tolerations: get("tolerations") ? parseTolerations(get("tolerations")!)! : [],
      priorityClassName: get("priorityClassName") || undefined,
      affinity: get("affinity") ? parseAffinity(get("affinity")!) : undefined,
    },
    storageClass: get("storageClass") || undefined,
    postgresStorage: get("postgresStorage")!,
    redisStorage: get("redisStorage")!,
    imageRegistry: get("imageRegistry") || undefined,
    registryAuth: registryAuthOf(get),
    externalPostgres: get("postgresUrl")
      ? parsePostgresUrl(get("postgresUrl")!, get("postgresSslMode") as SslMode)
      : undefined,
    externalRedis: get("redisUrl") ? parseRedisUrl(get("redisUrl")!) : undefined,
    secrets: {
      authSecret: supplied("authSecret", generateAuthSecret),
      postgresPassword: supplied("postgresPassword", generatePostgresPassword),
      anthropicApiKey: get("anthropicApiKey") ?? "",
      registryPassword: get("registryPassword") ?? "",
      dockerConfig: get("dockerConfig") ?? "",
      redisPassword: get("redisPassword") ?? "",
      postgresCaCert: get("postgresCaCert") ?? "",
      redisCaCert: get("redisCaCert") ?? "",
    },
    generated,
  };
  return config;
}

function pick(sources: readonly RawSource[], key: FieldKey): RawValue | undefined {
  for (const source of sources) {
    const v = source[key];
    if (v !== undefined) return v;
  }
  return undefined;
}

function show(spec: FieldSpec, value: string): string {
  if (spec.secret) return `(hidden, ${value.length} characters)`;
  return JSON.stringify(spec.shown ? spec.shown(value) : value);
}

export function parseTls(value: string): TlsConfig {
  if (value === "none") return { mode: "none" };
  const [mode, name] = [value.slice(0, value.indexOf(":")), value.slice(value.indexOf(":") + 1)];
  return mode === "cert-manager" ? { mode, issuer: name } : { mode: "secret", secretName: name };
}

export function formatTls(tls: TlsConfig): string {
  switch (tls.mode) {
    case "none":
      return "none";
    case "cert-manager":
      return `cert-manager:${tls.issuer}`;
    case "secret":
      return `secret:${tls.secretName}`;
  }
}

/** A reference that names its own tag or digest keeps it; a bare repository gets the chosen tag. */
export function withTag(reference: string, tag: string): string {
  const ref = parseImageReference(reference)!;
  return ref.tag !== undefined || ref.digest !== undefined ? reference : `${reference}:${tag}`;
}

function registryAuthOf(get: (key: FieldKey) => string | undefined): RegistryAuth | undefined {
  if (get("imagePullSecret")) return { kind: "existing", secretName: get("imagePullSecret")! };
  if (get("dockerConfig")) return { kind: "docker-config" };
  if (get("registryUsername")) return { kind: "credentials", username: get("registryUsername")! };
  return undefined;
}

/** A username needs its password and the other way round; one way to authenticate, not two. */
function registryProblems(
  chosen: ReadonlyMap<FieldKey, string>,
  origins: Partial<Record<FieldKey, { value: string; field: string | undefined }>>,
): ConfigProblem[] {
  const has = (k: FieldKey) => Boolean(chosen.get(k));
  const named = (k: FieldKey) => origins[k]?.field ?? fieldSpec(k).flag;
  const problems: ConfigProblem[] = [];
  if (has("registryUsername") !== has("registryPassword")) {
    const [given, missing] = has("registryUsername")
      ? (["registryUsername", "registryPassword"] as const)
      : (["registryPassword", "registryUsername"] as const);
    problems.push({
      field: named(missing),
      shownValue: undefined,
      allowed: `needed with ${named(given)}: a registry user and its password go together`,
    });
  }
  const ways = (["registryUsername", "dockerConfig", "imagePullSecret"] as const).filter(has);
  if (ways.length > 1) {
    problems.push({
      field: named(ways[1]!),
      shownValue: undefined,
      allowed: `one way to pull from a private registry: ${ways.map(named).join(" or ")}, not both`,
    });
  }
  return problems;
}

/**
 * A setting of your own database given without the database it belongs to is refused by name, not
 * ignored; your own PostgreSQL's password is never generated (the database already has one).
 */
function externalProblems(
  chosen: ReadonlyMap<FieldKey, string>,
  origins: Origins,
  options: ResolveOptions,
): ConfigProblem[] {
  // Given, and not the default: a values file written by `export` names every setting, defaults too.
  const given = (k: FieldKey) =>
    origins[k]?.field !== undefined &&
    Boolean(chosen.get(k)) &&
    chosen.get(k) !== fieldSpec(k).default &&
    !origins[k]?.fromInstall;
  const named = (k: FieldKey) => origins[k]?.field ?? fieldSpec(k).flag;
  const problems: ConfigProblem[] = [];
  const needs: readonly [FieldKey, FieldKey][] = [
    ["postgresSslMode", "postgresUrl"],
    ["postgresCaCert", "postgresUrl"],
    ["redisPassword", "redisUrl"],
    ["redisCaCert", "redisUrl"],
  ];
  for (const [key, owner] of needs) {
    if (given(key) && !chosen.get(owner) && !options.companionsMayComeLater)
      problems.push({
        field: named(key),
        shownValue: show(fieldSpec(key), chosen.get(key)!),
        allowed: `only with ${fieldSpec(owner).flag}: it is about your own ${owner === "redisUrl" ? "Redis" : "PostgreSQL"}, and this install runs its own in the cluster`,
      });
  }
  const password = chosen.get("postgresPassword");
  if (!chosen.get("postgresUrl") && password !== undefined && password.length < 16)
    problems.push({
      field: named("postgresPassword"),
      shownValue: show(fieldSpec("postgresPassword"), password),
      allowed: "at least 16 characters for the PostgreSQL the install runs",
    });
  if (options.forInstall && chosen.get("postgresUrl") && !password) {
    const spec = fieldSpec("postgresPassword");
    problems.push({
      field: spec.flag,
      shownValue: undefined,
      allowed: `the password of your PostgreSQL's user (with ${named("postgresUrl")}): set ${spec.env} or pass ${spec.flag}; it is never generated for a database you run`,
    });
  }
  return problems;
}

const WORKLOADS = {
  web: "Deployment/mathison-web",
  worker: "Deployment/mathison-worker",
  postgres: "StatefulSet/postgres",
  redis: "StatefulSet/redis",
} as const;

/** `--web-requests` and the like, by workload; only what was given. */
function resourcesOf(get: (key: FieldKey) => string | undefined): NonNullable<InstallConfig["resources"]> {
  const out: Record<string, { requests?: Record<string, string>; limits?: Record<string, string> }> = {};
  for (const [short, workload] of Object.entries(WORKLOADS)) {
    const requests = get(`${short}Requests` as FieldKey);
    const limits = get(`${short}Limits` as FieldKey);
    if (!requests && !limits) continue;
    out[workload] = {
      ...(requests ? { requests: parseResourceList(requests)! } : {}),
      ...(limits ? { limits: parseResourceList(limits)! } : {}),
    };
  }
  return out;
}
