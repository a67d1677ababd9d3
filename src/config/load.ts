import { passwordChangeProblem } from "./cluster-record.js";
import { resolveConfig, type ResolveResult } from "./resolve.js";
import { envSource, flagSource, valuesFileSource, type RawSource } from "./sources.js";
import type { ConfigProblem } from "./types.js";

export interface LoadInput {
  /** Parsed flags keyed by flag name without `--`. */
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly forInstall?: boolean;
  /** What an existing install in the cluster holds (its secrets): below the user's sources, above defaults. */
  readonly clusterRecord?: RawSource;
  readonly apiKeyMayComeLater?: boolean;
  /** Answers to the interactive questions: below the user's flags, environment and values file. */
  readonly prompted?: RawSource;
}

/** The settings the user gave by flag, environment or values file (highest first wins): the wizard does not ask them again. */
export function suppliedValues(input: Pick<LoadInput, "flags" | "env">): RawSource {
  const values = input.flags["values"] !== undefined ? valuesFileSource(input.flags["values"]).source : {};
  return { ...values, ...envSource(input.env), ...flagSource(input.flags).source };
}

/** Flags > environment > --values file > defaults. Every problem of every source is reported together. */
export function loadConfig(input: LoadInput): ResolveResult {
  const problems: ConfigProblem[] = [];
  const sources: RawSource[] = [];
  const flags = flagSource(input.flags);
  problems.push(...flags.problems);
  sources.push(flags.source, envSource(input.env));
  const valuesPath = input.flags["values"];
  if (valuesPath !== undefined) {
    const values = valuesFileSource(valuesPath);
    problems.push(...values.problems);
    sources.push(values.source);
  }
  if (input.prompted) sources.push(input.prompted);
  if (input.clusterRecord) {
    const supplied = sources.map((src) => src.postgresPassword).find((v) => v !== undefined);
    const changed = passwordChangeProblem(supplied, input.clusterRecord);
    if (changed) problems.push(changed);
    sources.push(input.clusterRecord);
  }
  const resolved = resolveConfig(sources, { forInstall: input.forInstall ?? false, apiKeyMayComeLater: input.apiKeyMayComeLater ?? false });
  if (resolved.ok && problems.length === 0) return resolved;
  return { ok: false, problems: [...problems, ...(resolved.ok ? [] : resolved.problems)] };
}
