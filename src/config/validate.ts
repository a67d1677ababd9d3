import { givenQuantity } from "../facts/quantity.js";
// Validators for the values a user can give. Each returns undefined when the value is allowed,
// or a short phrase saying what is allowed, so every error line reads
// `<field>: "<value>" is not allowed: <what is allowed>`.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export type Validator = (value: string) => string | undefined;

/** A Kubernetes name that must be a DNS-1123 label (namespaces, container names). */
export const dns1123Label: Validator = (v) =>
  v.length <= 63 && DNS1123_LABEL.test(v)
    ? undefined
    : "a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit";

/** A Kubernetes object name that must be a DNS-1123 subdomain (Secrets, classes, issuers). */
export const dns1123Subdomain: Validator = (v) =>
  v.length <= 253 && v.split(".").every((part) => DNS1123_LABEL.test(part))
    ? undefined
    : "a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit";

/** A host name an Ingress rule accepts: RFC 1123, lowercase, not an IP address, no wildcard. */
export const hostName: Validator = (v) => {
  if (v.length > 253 || IPV4.test(v) || !v.split(".").every((p) => p.length <= 63 && DNS1123_LABEL.test(p))) {
    return "an RFC 1123 host name in lowercase such as mathison.example.com (no scheme, port, path, wildcard or IP address)";
  }
  return undefined;
};

// The image reference grammar of the distribution project:
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [domain "/"] path-component ["/" path-component]*
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const TAG_ONLY = new RegExp(`^${TAG}$`);

export interface ImageReference {
  readonly name: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

export function parseImageReference(v: string): ImageReference | undefined {
  const m = REFERENCE.exec(v);
  if (!m || m[1]!.length > 255) return undefined;
  return { name: m[1]!, tag: m[2], digest: m[3] };
}

export const imageReference: Validator = (v) =>
  parseImageReference(v)
    ? undefined
    : "an image reference [registry[:port]/]repository[:tag][@sha256:<digest>] with a lowercase repository, e.g. ghcr.io/acme/mathison-web:1.4.0";

/** `HOST[:PORT][/PREFIX]`: where a mirror keeps the images (`registry.internal:5000/mathison`). */
export const imageRegistry: Validator = (v) =>
  v === "" ||
  /^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\d{1,3}(\.\d{1,3}){3})(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(
    v,
  )
    ? undefined
    : "a registry HOST[:PORT] with an optional /PREFIX path, lowercase, e.g. registry.internal:5000/mathison (no scheme, no trailing slash)";

/**
 * An image's registry and repository path, as Docker names them: a first segment with a dot, a
 * port or `localhost` is a registry; anything else is Docker Hub's (`redis` → `library/redis`).
 */
export function splitRegistry(name: string): { registry: string; path: string } {
  const [first, ...rest] = name.split("/");
  if (rest.length > 0 && (first!.includes(".") || first!.includes(":") || first === "localhost")) {
    return { registry: first!, path: rest.join("/") };
  }
  return { registry: "docker.io", path: rest.length === 0 ? `library/${name}` : name };
}

/**
 * An image as a mirror holds it: its repository path, without the registry it came from, under
 * HOST[/PREFIX] (`redis:7.2.7` → `HOST/library/redis:7.2.7`, `ghcr.io/acme/web:1` → `HOST/acme/web:1`),
 * as `crane copy` and `skopeo copy` put them.
 */
export function mirrored(image: string, registry: string): string {
  const ref = parseImageReference(image);
  if (!ref || registry === "") return image;
  return `${registry}/${splitRegistry(ref.name).path}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The image with its registry spelled out (`redis:7` → `docker.io/library/redis:7`), as a copy tool takes it. */
export function fullyQualified(image: string): string {
  const ref = parseImageReference(image);
  if (!ref) return image;
  return splitRegistry(ref.name).registry === "docker.io" ? mirrored(image, "docker.io") : image;
}

export const imageTag: Validator = (v) =>
  TAG_ONLY.test(v)
    ? undefined
    : "an image tag: 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'";

/** A storage size as a Kubernetes resource quantity, greater than zero. */
export const storageQuantity: Validator = (v) => {
  return givenQuantity(v, "storage") !== undefined
    ? undefined
    : "a storage quantity greater than zero such as 10Gi, 500Mi or 1Ti (suffixes Ki Mi Gi Ti Pi Ei k M G T P E)";
};

export function integerIn(min: number, max: number): Validator {
  return (v) =>
    /^[0-9]+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `a whole number from ${min} to ${max}`;
}

/** A lowercase word for a setting the application interprets (LLM_PROVIDER, MATHISON_MODE). */
export const settingWord: Validator = (v) =>
  /^[a-z][a-z0-9-]{0,62}$/.test(v) ? undefined : "a lowercase word of letters, digits and '-', starting with a letter";

/** The LLM providers the installer can configure: it carries the API key of Anthropic's alone (ANTHROPIC_API_KEY). */
export const LLM_PROVIDERS = ["anthropic"] as const;

export const llmProvider: Validator = (v) =>
  (LLM_PROVIDERS as readonly string[]).includes(v)
    ? undefined
    : `${LLM_PROVIDERS.join(", ")}: the installer carries only ANTHROPIC_API_KEY, so no other provider would have a key`;

export function minLength(n: number): Validator {
  return (v) => (v.length >= n ? undefined : `at least ${n} characters`);
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** A pod spec's `affinity` as JSON; undefined unless an object of only its three kinds. */
export function parseAffinity(v: string): Record<string, unknown> | undefined {
  try {
    const a = JSON.parse(v) as unknown;
    const keys = a && typeof a === "object" && !Array.isArray(a) ? Object.keys(a) : [];
    const known = ["nodeAffinity", "podAffinity", "podAntiAffinity"];
    return keys.length > 0 && keys.every((k) => known.includes(k)) ? (a as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `2:10` → the autoscaler's bounds; undefined unless 1 ≤ MIN ≤ MAX ≤ 50. */
export function parseAutoscale(v: string): { min: number; max: number } | undefined {
  const m = /^(\d{1,2}):(\d{1,2})$/.exec(v);
  const [min, max] = [Number(m?.[1]), Number(m?.[2])];
  return m && min >= 1 && min <= max && max <= 50 ? { min, max } : undefined;
}

/** `cpu=200m,memory=256Mi` → a resource list; undefined unless each is cpu or memory with a quantity. */
export function parseResourceList(v: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const pair of v.split(",").map((p) => p.trim())) {
    const [name, quantity, ...rest] = pair.split("=");
    if (
      rest.length > 0 ||
      (name !== "cpu" && name !== "memory") ||
      givenQuantity(quantity ?? "", "compute") === undefined
    )
      return undefined;
    out[name] = quantity!;
  }
  return out;
}

/** `pool=mathison,zone=a` → labels; undefined when any pair is not a valid label. */
export function parseNodeSelector(v: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const pair of v.split(",").map((p) => p.trim())) {
    const [key, value, ...rest] = pair.split("=");
    if (rest.length > 0 || value === undefined || !LABEL_KEY.test(key!) || !LABEL_VALUE.test(value)) return undefined;
    out[key!] = value;
  }
  return out;
}

export interface Toleration {
  readonly key: string;
  readonly operator: "Equal" | "Exists";
  readonly value?: string;
  readonly effect: string;
}

/** `dedicated=mathison:NoSchedule,gpu:NoExecute` (kubectl taint's syntax) → tolerations; undefined when one is not. */
export function parseTolerations(v: string): Toleration[] | undefined {
  const out: Toleration[] = [];
  for (const item of v.split(",").map((p) => p.trim())) {
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(item);
    if (!m || !LABEL_KEY.test(m[1]!) || (m[2] !== undefined && !LABEL_VALUE.test(m[2]))) return undefined;
    out.push(
      m[2] === undefined
        ? { key: m[1]!, operator: "Exists", effect: m[3]! }
        : { key: m[1]!, operator: "Equal", value: m[2], effect: m[3]! },
    );
  }
  return out;
}
