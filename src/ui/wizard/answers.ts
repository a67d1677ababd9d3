import { FIELDS, type FieldKey } from "../../config/fields.js";
import { REPLACEABLE, type Installed } from "../../config/installed.js";
import { loadConfig, readGiven, suppliedValues, type GivenSources } from "../../config/load.js";
import type { ChosenValues, ResolveResult } from "../../config/resolve.js";
import type { RawSource } from "../../config/sources.js";
import type { InstallConfig } from "../../config/types.js";
import type { AnswerContext } from "../../pipeline/front-end.js";
import { summarizeRecord } from "../../record/install-record.js";
import { installedLine, resumingLine } from "../plan-lines.js";
import { writeLines } from "../wrap.js";
import { planQuestions, tagIsMoot, tagQuestion } from "./questions.js";
import { summaryLines, type AnswerMark, type SecretOrigin } from "./summary.js";
import { askQuestions, askSecret, askYesNo, type PromptIO } from "./wizard.js";
import { SECRET_DATA_KEYS, type SecretKey } from "../../config/secret-keys.js";

export interface WizardAnswerInput {
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The flags', environment's and values file's settings, read once by the command. */
  readonly given?: GivenSources | undefined;
  /** `--replace-secret` as given; the wizard may add to it. */
  readonly replaceSecrets: readonly SecretKey[];
  /** `--rotate` as given. */
  readonly rotateSecrets?: readonly SecretKey[];
  readonly io: PromptIO;
}

/**
 * The wizard's answers. A first install asks everything open; an upgrade greets the install, asks
 * the tag (defaulting to the installed one) and only then whether to change anything else, so
 * pressing Enter throughout changes nothing. Installed secrets are never asked again: replacing
 * one is its own explicit question, defaulting to No.
 */
export async function resolveWizardAnswers(ctx: AnswerContext, input: WizardAnswerInput): Promise<ResolveResult> {
  const given = readGiven(input);
  const supplied = suppliedValues({ ...input, given });
  const suppliedKeys = new Set(Object.keys(supplied) as FieldKey[]);
  const recorded = ctx.installed.answers ?? {};
  const keptSecrets = new Set(Object.keys(ctx.installed.secrets) as FieldKey[]);
  const known = (key: FieldKey) => supplied[key]?.value;
  let answers: RawSource = {};
  let more = true;
  if (ctx.upgrade) {
    writeLines(input.io.output, [
      ctx.resuming
        ? resumingLine(ctx.state.record, ctx.state.namespace)
        : (installedLine(summarizeRecord(ctx.state.record), ctx.state.namespace) ?? ""),
    ]);
    if (!suppliedKeys.has("tag") && !tagIsMoot(suppliedKeys, known))
      answers = await askQuestions([tagQuestion(recorded.tag ?? spec("tag").default!)], input.io, known);
    more = await askYesNo("Change other settings?", input.io, false);
  }
  // The namespace is known before any question (it says which install this is): a first install shows it.
  if (!ctx.upgrade && !suppliedKeys.has("namespace"))
    writeLines(input.io.output, [
      `Installing into context ${ctx.kube.contextName}, namespace ${ctx.state.namespace} (--namespace chooses another)`,
    ]);
  if (more) {
    const facts = await ctx.facts();
    const open = planQuestions({
      supplied: new Set([...suppliedKeys, ...(Object.keys(answers) as FieldKey[])]),
      recorded,
      kept: keptSecrets,
      facts,
      known,
    });
    answers = { ...answers, ...(await askQuestions(open, input.io, known)) };
  }
  const replace = await askReplacements(
    ctx.installed,
    supplied,
    answers,
    new Set(input.replaceSecrets),
    ctx.upgrade && more,
    input.io,
  );
  const prompted = withoutRecorded(answers, recorded);
  const loaded = loadConfig({
    flags: input.flags,
    env: input.env,
    given,
    forInstall: true,
    prompted,
    installed: ctx.installed,
    replaceSecrets: [...replace],
    rotateSecrets: input.rotateSecrets ?? [],
  });
  if (loaded.ok) {
    const heading = ctx.resuming
      ? "About to resume the install"
      : ctx.upgrade
        ? "About to upgrade"
        : "About to install";
    const origin = secretOrigin(loaded.config, loaded.chosen, replace);
    const mark = ctx.upgrade ? markAgainst(recorded, loaded.chosen) : () => undefined;
    writeLines(input.io.output, [
      "",
      `${heading}:`,
      ...summaryLines(loaded.config, ctx.kube.contextName, origin, mark),
    ]);
  }
  return loaded;
}

const spec = (key: FieldKey) => FIELDS.find((f) => f.key === key)!;

/**
 * Which installed secrets to replace: a value from the environment or a file that differs from
 * the installed one is applied only after a yes; on "change other settings" each replaceable
 * secret gets its own question. A replacement API key with no value given is asked for.
 */
async function askReplacements(
  installed: Installed,
  supplied: RawSource,
  answers: RawSource,
  replace: Set<SecretKey>,
  offer: boolean,
  io: PromptIO,
): Promise<Set<SecretKey>> {
  for (const key of REPLACEABLE) {
    const current = installed.secrets[key];
    if (!current || replace.has(key)) continue;
    const name = SECRET_DATA_KEYS[key];
    const given = supplied[key];
    if (given && given.value !== current) {
      if (
        await askYesNo(
          `${name} from ${given.field} differs from the installed one. Replace the installed value?`,
          io,
          false,
        )
      )
        replace.add(key);
    } else if (offer && !given) {
      const question =
        key === "authSecret" ? "Generate a new AUTH_SECRET? (every user is signed out)" : `Change the ${name}?`;
      if (await askYesNo(question, io, false)) replace.add(key);
    }
  }
  if (replace.has("anthropicApiKey") && !supplied.anthropicApiKey && !answers.anthropicApiKey) {
    answers.anthropicApiKey = {
      value: (await askSecret("New ANTHROPIC_API_KEY", io)).trim(),
      field: "ANTHROPIC_API_KEY (answered in the wizard)",
    };
  }
  return replace;
}

/**
 * Answers equal to the recorded ones stay "recorded": a replica count confirmed with Enter must
 * not take it back from an autoscaler. A base domain confirmed as the domain stays unset, so it
 * keeps following the domain.
 */
function withoutRecorded(answers: RawSource, recorded: Installed["answers"] & object): RawSource {
  const out: RawSource = {};
  const domain = answers.domain?.value ?? recorded.domain;
  for (const [key, v] of Object.entries(answers) as [FieldKey, NonNullable<RawSource[FieldKey]>][]) {
    if (key === "baseDomain" && recorded.baseDomain === undefined && v.value === domain) continue;
    if (spec(key).secret || recorded[key] !== v.value) out[key] = v;
  }
  return out;
}

function secretOrigin(
  config: InstallConfig,
  chosen: ChosenValues,
  replace: ReadonlySet<SecretKey>,
): (key: FieldKey) => SecretOrigin {
  return (key) => {
    if (replace.has(key as SecretKey)) return "replaced";
    if (chosen[key]?.fromInstall) return "kept";
    return config.generated.includes(key as never) ? "generated" : "given";
  };
}

/** Each summary row against the install record: kept, changed, or new (a setting the record did not have). */
export function markAgainst(
  recorded: Readonly<Partial<Record<FieldKey, string>>>,
  chosen: ChosenValues,
): (keys: readonly FieldKey[]) => AnswerMark | undefined {
  return (keys) => {
    let mark: AnswerMark = "kept";
    for (const key of keys) {
      const now = chosen[key]?.value;
      if (recorded[key] === undefined) {
        if (now !== undefined) mark = "new";
      } else if (recorded[key] !== now) return "changed";
    }
    return mark;
  };
}
