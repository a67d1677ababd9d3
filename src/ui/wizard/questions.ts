import type { FieldKey } from "../../config/fields.js";
import {
  dns1123Subdomain,
  hostName,
  imageReference,
  imageTag,
  minLength,
  parseImageReference,
} from "../../config/validate.js";
import { registryHost } from "../../render/registry.js";
import { type Asking, asPrompt, type Question, type QuestionInput, spec } from "./question.js";

export type { QuestionInput } from "./question.js";
import { ownDatabaseQuestions } from "./database-questions.js";

/** A host name typed in any case: checked as it will be used, lowercased (the config says so). */
function caseless(validate: (v: string) => string | undefined): (v: string) => string | undefined {
  return (v) => validate(v.trim().toLowerCase());
}

/**
 * The tag applies to images given without their own; when both images given in this run name a
 * tag or digest, asking for one would change nothing. (Recorded images that name a tag follow a
 * new one: there the question is how an upgrade is made.)
 */
export function tagIsMoot(supplied: ReadonlySet<FieldKey>, known: (key: FieldKey) => string | undefined): boolean {
  const pinned = (key: "webImage" | "workerImage") => {
    const value = supplied.has(key) ? known(key) : undefined;
    const ref = value ? parseImageReference(value) : undefined;
    return ref !== undefined && (ref.tag !== undefined || ref.digest !== undefined);
  };
  return pinned("webImage") && pinned("workerImage");
}

/** The questions still open, in the order a person thinks about them, defaulting to the recorded answers. */
export function planQuestions(input: QuestionInput): Question[] {
  const { supplied, kept = new Set(), recorded = {} } = input;
  const asking: Asking = {
    open: (key) => !supplied.has(key) && !kept.has(key),
    def: (key) => recorded[key] ?? spec(key).default!,
    recorded,
    input,
  };
  return QUESTIONS_IN_ORDER.flatMap((questionsOf) => questionsOf(asking));
}

const QUESTIONS_IN_ORDER: readonly ((a: Asking) => Question[])[] = [
  domainQuestion,
  ingressClassQuestion,
  tlsQuestion,
  ({ open, def, input }) =>
    open("tag") && !tagIsMoot(input.supplied, input.known ?? (() => undefined)) ? [tagQuestion(def("tag"))] : [],
  imageQuestions,
  registryQuestions,
  ({ open, def, recorded }) =>
    open("webReplicas") && recorded.webReplicas
      ? [
          {
            kind: "input",
            key: "webReplicas",
            message: "Web replicas",
            default: def("webReplicas"),
            validate: asPrompt(spec("webReplicas").validate),
          },
        ]
      : [],
  // LLM_PROVIDER and MATHISON_MODE have one value the installer supports each: shown in the
  // summary, not asked (flags and values files still set them).
  ownDatabaseQuestions,
  apiKeyQuestion,
  baseDomainQuestion,
  generatedSecretQuestions,
];

function domainQuestion({ open, recorded }: Asking): Question[] {
  if (!open("domain")) return [];
  return [
    {
      kind: "input",
      key: "domain",
      message: "Domain of the web UI (the Ingress host)",
      ...(recorded.domain ? { default: recorded.domain } : {}),
      validate: asPrompt(caseless(hostName)),
    },
  ];
}

/** The cluster's IngressClasses to choose from (its default first), or a name to type when it has none. */
function ingressClassQuestion({ open, recorded, input }: Asking): Question[] {
  if (!open("ingressClass")) return [];
  const otherwise: Question = {
    kind: "input",
    key: "ingressClass",
    message: "IngressClass to use",
    default: "nginx",
    validate: asPrompt(dns1123Subdomain),
  };
  const classes = input.facts.ingressClasses;
  if (classes.length === 0)
    return [
      {
        kind: "select",
        key: "ingressClass",
        message: "IngressClass",
        choices: [],
        note: "No IngressClass found in the cluster: install an ingress controller (e.g. ingress-nginx) for the web UI to be reachable, or name the class it will have.",
        otherwise,
      },
    ];
  const sorted = [...classes].sort((a, b) => Number(b.isDefault) - Number(a.isDefault));
  const choices = sorted.map((c) => ({ name: c.isDefault ? `${c.name} (cluster default)` : c.name, value: c.name }));
  const installed = recorded.ingressClass;
  if (installed && !choices.some((c) => c.value === installed))
    choices.unshift({ name: `${installed} (installed; not found in the cluster)`, value: installed });
  return [
    { kind: "select", key: "ingressClass", message: "IngressClass", default: installed ?? sorted[0]!.name, choices },
  ];
}

/** cert-manager's ClusterIssuers, the TLS Secrets there are, one to create, or none. */
function tlsQuestion({ open, recorded, input }: Asking): Question[] {
  if (!open("tls")) return [];
  const { clusterIssuers, tlsSecrets } = input.facts;
  const choices = [
    ...clusterIssuers.map((i) => ({ name: `cert-manager, ClusterIssuer ${i}`, value: `cert-manager:${i}` })),
    ...tlsSecrets.map((s) => ({ name: `existing TLS Secret ${s}`, value: `secret:${s}` })),
    { name: "a TLS Secret I will create (name it next)", value: "secret:" },
    { name: "none: plain HTTP", value: "none" },
  ];
  const installed = recorded.tls;
  if (installed && !choices.some((c) => c.value === installed))
    choices.unshift({ name: `${installed} (installed)`, value: installed });
  const first = clusterIssuers[0] ? `cert-manager:${clusterIssuers[0]}` : undefined;
  return [{ kind: "select", key: "tls", message: "TLS for the web UI", default: installed ?? first, choices }];
}

function imageQuestions({ open, def }: Asking): Question[] {
  return [
    ...(open("webImage")
      ? [
          {
            kind: "input",
            key: "webImage",
            message: "Web image (repository; a :tag or @digest here wins)",
            default: def("webImage"),
            validate: asPrompt(imageReference),
          } as const,
        ]
      : []),
    ...(open("workerImage")
      ? [
          {
            kind: "input",
            key: "workerImage",
            message: "Worker image",
            default: def("workerImage"),
            validate: asPrompt(imageReference),
          } as const,
        ]
      : []),
  ];
}

/** Credentials for the images' registry, asked only when an image comes from a registry of its own. */
function registryQuestions({ open, def, recorded }: Asking): Question[] {
  if (!(open("registryUsername") && open("registryPassword") && open("dockerConfig") && open("imagePullSecret")))
    return [];
  // Only images from a registry of their own may need credentials; Docker Hub's are taken as public.
  const privateRegistry = (answered: (key: FieldKey) => string | undefined) =>
    [answered("webImage") ?? def("webImage"), answered("workerImage") ?? def("workerImage")].some(
      (image) => registryHost(image) !== "docker.io",
    );
  return [
    {
      kind: "input",
      key: "registryUsername",
      message: "User for the images' registry (Enter: the images are public)",
      ...(recorded.registryUsername ? { default: recorded.registryUsername } : {}),
      askIf: privateRegistry,
      validate: asPrompt(spec("registryUsername").validate),
    },
    {
      kind: "secret",
      key: "registryPassword",
      message: "Its password or token",
      generatable: false,
      askIf: (answered) => Boolean(answered("registryUsername")),
      validate: (v) => (v.trim() ? true : "Allowed: the password or token (kept only in the namespace's Secret)"),
    },
  ];
}

function apiKeyQuestion({ open }: Asking): Question[] {
  if (!open("anthropicApiKey")) return [];
  return [
    {
      kind: "secret",
      key: "anthropicApiKey",
      message: "ANTHROPIC_API_KEY",
      generatable: false,
      askIf: (answered) => (answered("llmProvider") ?? spec("llmProvider").default) === "anthropic",
      validate: (v) => (v.trim() ? true : "Allowed: the key (it is stored only in the namespace's Secret)"),
    },
  ];
}

function baseDomainQuestion({ open, recorded }: Asking): Question[] {
  if (!open("baseDomain")) return [];
  return [
    {
      kind: "input",
      key: "baseDomain",
      message: "MATHISON_BASE_DOMAIN (tenant apps are served under it)",
      ...(recorded.baseDomain ? { default: recorded.baseDomain } : { defaultFrom: "domain" as const }),
      validate: asPrompt(caseless(hostName)),
      note: "MATHISON_BASE_DOMAIN: the apps Mathison deploys for its users are served at APP.BASE-DOMAIN, so it needs a wildcard DNS record; Enter takes the web UI's domain.",
    },
  ];
}

/** AUTH_SECRET and POSTGRES_PASSWORD: Enter generates them. */
function generatedSecretQuestions({ open }: Asking): Question[] {
  return (["authSecret", "postgresPassword"] as const).filter(open).map((key) => ({
    kind: "secret",
    key,
    message: key === "authSecret" ? "AUTH_SECRET" : "POSTGRES_PASSWORD",
    generatable: true,
    validate: asPrompt(key === "postgresPassword" ? minLength(16) : spec(key).validate),
    // Your own PostgreSQL's password was asked with its URL: never generated.
    ...(key === "postgresPassword"
      ? { askIf: (answered: (k: FieldKey) => string | undefined) => !answered("postgresUrl") }
      : {}),
  }));
}

/** Tags that name no release: what they pull changes under the install. */
const MOVING_TAGS = new Set(["latest", "main", "master", "edge", "nightly", "stable"]);

export function tagQuestion(defaultTag: string): Question {
  return {
    kind: "input",
    key: "tag",
    message: "Image tag for web and worker",
    default: defaultTag,
    validate: asPrompt(imageTag),
    ...(MOVING_TAGS.has(defaultTag)
      ? {
          note: `The default tag, ${defaultTag}, names no release: each restart may pull another build, and an upgrade cannot tell what changed. Type the release to run (e.g. 2.1.0) to pin it.`,
        }
      : {}),
  };
}

/** A TLS answer of `secret:` still needs the Secret's name. */
export const tlsSecretNameQuestion: Question = {
  kind: "input",
  key: "tls",
  message: "Name of the TLS Secret (in the install's namespace)",
  default: "mathison-tls",
  validate: asPrompt(dns1123Subdomain),
};
