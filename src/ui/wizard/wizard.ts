import { confirm, input, password, select } from "@inquirer/prompts";
import { fieldSpec, type FieldKey } from "../../config/fields.js";
import { Cancelled } from "../../pipeline/front-end.js";
import type { RawSource } from "../../config/sources.js";
import type { Question } from "./question.js";
import { tlsSecretNameQuestion } from "./questions.js";
import { widthOf, wrapLine, writeLines } from "../wrap.js";

/** The terminal the questions use; the wizard owns stdin until it returns, then Ink may take it. */
export interface PromptIO {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
}

/** The user pressed Ctrl-C (or closed the terminal) during the questions: nothing is applied. */
export class WizardCancelled extends Cancelled {}

export async function cancellable<T>(ask: Promise<T>): Promise<T> {
  try {
    return await ask;
  } catch (err) {
    if ((err as Error).name === "ExitPromptError" || (err as Error).name === "AbortPromptError")
      throw new WizardCancelled("cancelled");
    throw err;
  }
}

export async function askContext(contexts: readonly string[], io: PromptIO): Promise<string> {
  return cancellable(
    select(
      { message: "Kubernetes context", choices: contexts.map((c) => ({ name: c, value: c })), default: contexts[0] },
      io,
    ),
  );
}

const PROMPT_FIELD = "answered in the wizard";

/**
 * Asks every open question and returns the answers as a config source. `known` gives values
 * already decided (flags, earlier answers) for defaults that follow them.
 */
export async function askQuestions(
  questions: readonly Question[],
  io: PromptIO,
  known: (key: FieldKey) => string | undefined,
): Promise<RawSource> {
  const answers: RawSource = {};
  const answered = (key: FieldKey) => answers[key]?.value ?? known(key);
  for (const q of questions) {
    const value = await ask(q, io, answered);
    if (value !== undefined) answers[q.key] = { value, field: `${q.message} (${PROMPT_FIELD})` };
  }
  return answers;
}

/**
 * A question as it fits the terminal: the prompt library writes `? message (default) answer` as
 * one line, which a terminal narrower than it breaks mid-word. The message is wrapped at words,
 * and what follows it (the default, then the answer) goes to a line of its own when the last line
 * has no room for it.
 */
/** Columns kept for an answer typed after a question without a default. */
const TYPED_ROOM = 32;

export function fitted(message: string, after: string, output: NodeJS.WritableStream): string {
  const width = widthOf(output as { isTTY?: boolean; columns?: number });
  if (2 + message.length + 1 + after.length < width) return message;
  const lines = wrapLine(message, width - 2, { keepCommands: false });
  const last = lines.at(-1)!;
  return `${lines.map((l) => l.trim()).join("\n")}${2 + last.length + 1 + after.length < width ? "" : "\n"}`;
}

async function ask(
  q: Question,
  io: PromptIO,
  answered: (key: FieldKey) => string | undefined,
): Promise<string | undefined> {
  switch (q.kind) {
    case "input": {
      if (q.askIf && !q.askIf(answered)) return undefined;
      if (q.note) writeLines(io.output, [`! ${q.note}`]);
      // A default taken from another answer is that answer as it will be used (a host name lowercased).
      const from = q.defaultFrom ? answered(q.defaultFrom) : undefined;
      const normalize = q.defaultFrom ? fieldSpec(q.defaultFrom).normalize : undefined;
      const def = q.default ?? (from !== undefined && normalize ? normalize(from) : from);
      return (
        await cancellable(
          input(
            {
              // Shown until something is typed: the default; without one, room for a typical answer (a host name).
              message: fitted(q.message, def ? `(${def})` : " ".repeat(q.answerRoom ?? TYPED_ROOM), io.output),
              ...(def ? { default: def } : {}),
              validate: q.validate,
            },
            io,
          ),
        )
      ).trim();
    }
    case "select": {
      if (q.choices.length === 0) {
        if (q.note) writeLines(io.output, [`! ${q.note}`]);
        return q.otherwise ? ask(q.otherwise, io, answered) : undefined;
      }
      if (q.note) writeLines(io.output, [`! ${q.note}`]);
      const picked = await cancellable(
        select(
          {
            message: fitted(q.message, longest(q.choices.map((c) => c.name)), io.output),
            choices: q.choices.map((c) => ({ ...c })),
            ...(q.default ? { default: q.default } : {}),
          },
          io,
        ),
      );
      if (q.key === "tls" && picked === "secret:") return `secret:${await ask(tlsSecretNameQuestion, io, answered)}`;
      if (q.followUp && picked === q.followUp.when) return ask(q.followUp.question, io, answered);
      return picked;
    }
    case "secret": {
      if (q.askIf && !q.askIf(answered)) return undefined;
      if (q.generatable) {
        const how = await cancellable(
          select(
            {
              message: q.message,
              choices: [
                { name: "generate one (recommended)", value: "generate" },
                { name: "enter my own", value: "own" },
              ],
            },
            io,
          ),
        );
        if (how === "generate") return undefined;
      }
      return cancellable(
        password({ message: q.generatable ? `${q.message} (hidden)` : q.message, mask: "•", validate: q.validate }, io),
      );
    }
  }
}

function longest(texts: readonly string[]): string {
  return texts.reduce((a, b) => (b.length > a.length ? b : a), "");
}

/** A yes/no question; `No` is the default where yes changes something the user did not ask to change. */
export async function askYesNo(message: string, io: PromptIO, defaultYes: boolean): Promise<boolean> {
  return cancellable(confirm({ message: fitted(message, "(Y/n) Yes", io.output), default: defaultYes }, io));
}

/** A typed confirmation: the expected word confirms, Enter on nothing cancels (and the answer line says so, not a ✔ of nothing). */
export async function askToType(message: string, expected: string, io: PromptIO): Promise<boolean> {
  const typed = await cancellable(
    input(
      {
        message: fitted(message, expected, io.output),
        validate: (v) => (v.trim() === expected || v.trim() === "" ? true : `Type ${expected} exactly (empty cancels)`),
        transformer: (v, { isFinal }) => (isFinal && v.trim() === "" ? "cancelled" : v),
        theme: { prefix: { idle: "?", done: "›" } },
      },
      io,
    ),
  );
  return typed.trim() === expected;
}

/** A hidden value (a replacement API key). */
export async function askSecret(message: string, io: PromptIO): Promise<string> {
  return cancellable(
    password({ message, mask: "•", validate: (v) => (v.trim() ? true : "Allowed: a non-empty value") }, io),
  );
}
