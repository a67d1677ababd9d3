import type { ClusterFacts } from "../../config/cluster-facts.js";
import { FIELDS, type FieldKey } from "../../config/fields.js";
import { dns1123Subdomain, hostName, imageReference, imageTag, settingWord } from "../../config/validate.js";

/** One question, as data: the wizard asks it with @inquirer/prompts; tests read it directly. */
export type Question =
  | { readonly kind: "input"; readonly key: FieldKey; readonly message: string; readonly default?: string; readonly validate: (v: string) => true | string; readonly defaultFrom?: FieldKey }
  | { readonly kind: "select"; readonly key: FieldKey; readonly message: string; readonly choices: readonly { readonly name: string; readonly value: string }[]; readonly default?: string; readonly note?: string; readonly otherwise?: Question }
  | { readonly kind: "secret"; readonly key: FieldKey; readonly message: string; readonly validate: (v: string) => true | string; readonly generatable: boolean;
      /** Asked only if this holds for the answers so far (the API key only for the anthropic provider). */
      readonly askIf?: (answered: (key: FieldKey) => string | undefined) => boolean };

/** A validator's phrase of what is allowed, as inquirer shows it under the input. */
function asPrompt(validate: (v: string) => string | undefined): (v: string) => true | string {
  return (v) => {
    const allowed = validate(v.trim());
    return allowed === undefined ? true : `Allowed: ${allowed}`;
  };
}

const spec = (key: FieldKey) => FIELDS.find((f) => f.key === key)!;

export interface QuestionInput {
  /** Given by flag, environment or values file: never asked. */
  readonly supplied: ReadonlySet<FieldKey>;
  /** Kept from the existing install (its Secret): never asked. */
  readonly recorded: ReadonlySet<FieldKey>;
  readonly facts: ClusterFacts;
}

/** The questions still open, in the order a person thinks about them. */
export function planQuestions({ supplied, recorded, facts }: QuestionInput): Question[] {
  const open = (key: FieldKey) => !supplied.has(key) && !recorded.has(key);
  const qs: Question[] = [];
  if (open("domain")) qs.push({ kind: "input", key: "domain", message: "Domain of the web UI (the Ingress host)", validate: asPrompt(hostName) });
  if (open("ingressClass")) {
    const otherwise: Question = { kind: "input", key: "ingressClass", message: "IngressClass to use", default: "nginx", validate: asPrompt(dns1123Subdomain) };
    if (facts.ingressClasses.length === 0) {
      qs.push({ kind: "select", key: "ingressClass", message: "IngressClass", choices: [], note: "No IngressClass found in the cluster: install an ingress controller (e.g. ingress-nginx) for the web UI to be reachable, or name the class it will have.", otherwise });
    } else {
      const sorted = [...facts.ingressClasses].sort((a, b) => Number(b.isDefault) - Number(a.isDefault));
      qs.push({ kind: "select", key: "ingressClass", message: "IngressClass", default: sorted[0]!.name,
        choices: sorted.map((c) => ({ name: c.isDefault ? `${c.name} (cluster default)` : c.name, value: c.name })) });
    }
  }
  if (open("tls")) {
    qs.push({ kind: "select", key: "tls", message: "TLS for the web UI", default: facts.clusterIssuers[0] ? `cert-manager:${facts.clusterIssuers[0]}` : undefined,
      choices: [
        ...facts.clusterIssuers.map((i) => ({ name: `cert-manager, ClusterIssuer ${i}`, value: `cert-manager:${i}` })),
        ...facts.tlsSecrets.map((s) => ({ name: `existing TLS Secret ${s}`, value: `secret:${s}` })),
        { name: "a TLS Secret I will create (name it next)", value: "secret:" },
        { name: "none: plain HTTP", value: "none" },
      ] });
  }
  if (open("tag")) qs.push({ kind: "input", key: "tag", message: "Image tag for web and worker", default: spec("tag").default!, validate: asPrompt(imageTag) });
  if (open("webImage")) qs.push({ kind: "input", key: "webImage", message: "Web image (repository; a :tag or @digest here wins)", default: spec("webImage").default!, validate: asPrompt(imageReference) });
  if (open("workerImage")) qs.push({ kind: "input", key: "workerImage", message: "Worker image", default: spec("workerImage").default!, validate: asPrompt(imageReference) });
  if (open("llmProvider")) qs.push({ kind: "input", key: "llmProvider", message: "LLM provider (LLM_PROVIDER)", default: spec("llmProvider").default!, validate: asPrompt(settingWord) });
  if (open("anthropicApiKey")) {
    qs.push({ kind: "secret", key: "anthropicApiKey", message: "ANTHROPIC_API_KEY", generatable: false,
      askIf: (answered) => (answered("llmProvider") ?? spec("llmProvider").default) === "anthropic",
      validate: (v) => (v.trim() ? true : "Allowed: the key (it is stored only in the namespace's Secret)") });
  }
  if (open("mathisonMode")) qs.push({ kind: "input", key: "mathisonMode", message: "MATHISON_MODE", default: spec("mathisonMode").default!, validate: asPrompt(settingWord) });
  if (open("baseDomain")) qs.push({ kind: "input", key: "baseDomain", message: "MATHISON_BASE_DOMAIN (tenant apps are served under it)", defaultFrom: "domain", validate: asPrompt(hostName) });
  for (const key of ["authSecret", "postgresPassword"] as const) {
    if (open(key)) qs.push({ kind: "secret", key, message: key === "authSecret" ? "AUTH_SECRET" : "POSTGRES_PASSWORD", generatable: true, validate: asPrompt(spec(key).validate) });
  }
  return qs;
}

/** A TLS answer of `secret:` still needs the Secret's name. */
export const tlsSecretNameQuestion: Question = {
  kind: "input", key: "tls", message: "Name of the TLS Secret (in the install's namespace)", default: "mathison-tls", validate: asPrompt(dns1123Subdomain),
};
