import type { ClusterFacts } from "../../pipeline/cluster-facts.js";
import { FIELDS, type FieldKey } from "../../config/fields.js";

/** One question, as data: the wizard asks it with @inquirer/prompts; tests read it directly. */
export type Question =
  | {
      readonly kind: "input";
      readonly key: FieldKey;
      readonly message: string;
      readonly default?: string;
      readonly validate: (v: string) => true | string;
      readonly defaultFrom?: FieldKey;
      /** Asked only if this holds for the answers so far. */
      readonly askIf?: (answered: (key: FieldKey) => string | undefined) => boolean;
      /** One line before the question: what the setting means, where its name alone says nothing. */
      readonly note?: string;
      /** How long a typical answer is (a URL is long): the answer starts on a line of its own when it would not fit. */
      readonly answerRoom?: number;
    }
  | {
      readonly kind: "select";
      readonly key: FieldKey;
      readonly message: string;
      readonly choices: readonly { readonly name: string; readonly value: string }[];
      readonly default?: string;
      readonly note?: string;
      readonly otherwise?: Question;
      /** A choice that needs more: picking `when` asks `question`, whose answer is the setting's. */
      readonly followUp?: { readonly when: string; readonly question: Question };
    }
  | {
      readonly kind: "secret";
      readonly key: FieldKey;
      readonly message: string;
      readonly validate: (v: string) => true | string;
      readonly generatable: boolean;
      /** Asked only if this holds for the answers so far (the API key only for the anthropic provider). */
      readonly askIf?: (answered: (key: FieldKey) => string | undefined) => boolean;
    };

/** A validator's phrase of what is allowed, as inquirer shows it under the input. */
export function asPrompt(validate: (v: string) => string | undefined): (v: string) => true | string {
  return (v) => {
    const allowed = validate(v.trim());
    return allowed === undefined ? true : `Allowed: ${allowed}`;
  };
}

/** A setting's row of FIELDS. */
export const spec = (key: FieldKey) => FIELDS.find((f) => f.key === key)!;

export interface QuestionInput {
  /** Given by flag, environment or values file: never asked. */
  readonly supplied: ReadonlySet<FieldKey>;
  /** The existing install's answers: each question offers its recorded value as the default. */
  readonly recorded?: Readonly<Partial<Record<FieldKey, string>>>;
  /** Secrets the existing install keeps: never asked here (the upgrade flow asks whether to replace them). */
  readonly kept?: ReadonlySet<FieldKey>;
  readonly facts: ClusterFacts;
  /** The supplied values themselves (an image given with its own tag makes the tag question moot). */
  readonly known?: (key: FieldKey) => string | undefined;
}

/** What each question builder reads: which keys are still open, their defaults, the cluster's facts. */
export interface Asking {
  readonly open: (key: FieldKey) => boolean;
  readonly def: (key: FieldKey) => string;
  readonly recorded: Partial<Record<FieldKey, string>>;
  readonly input: QuestionInput;
}
