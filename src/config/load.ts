import type { FieldKey } from "./fields.js";
import { partsAsUrl } from "./postgres-parts.js";
import { decideSecrets, recordedAnswers, type Installed } from "./installed.js";
import { resolveConfig, type ResolveResult } from "./resolve.js";
import { envSource, flagSource, valuesFileSource, type RawSource, type SourceResult } from "./sources.js";
import type { ConfigProblem } from "./types.js";
import type { SecretKey } from "./secret-keys.js";

export interface LoadInput {
  /** Parsed flags keyed by flag name without `--`. */
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly forInstall?: boolean;
  /** The existing install: its recorded answers below the user's sources, its secrets kept. */
  readonly installed?: Installed;
  /** Secrets the user asked to replace (`--replace-secret`, or yes to the wizard's question). */
  readonly replaceSecrets?: readonly SecretKey[];
  /** Secrets to rotate (`--rotate`): generated anew, POSTGRES_PASSWORD changed inside PostgreSQL by the run. */
  readonly rotateSecrets?: readonly SecretKey[];
  readonly apiKeyMayComeLater?: boolean;
  /** Answers to the interactive questions: below the user's flags, environment and values file. */
  readonly prompted?: RawSource;
  /** The flags', environment's and values file's settings as already read for this command (`readGiven`). */
  readonly given?: GivenSources;
  /**
   * The values checked before the install's record is read (a command's flags): a setting that
   * needs another (a Redis password its URL) may find it there, so that is not yet a problem.
   */
  readonly beforeRecord?: boolean;
}

/** What the user gave, each file (values, secret files) read once per command. */
export interface GivenSources {
  readonly flags: SourceResult;
  readonly env: RawSource;
  readonly values: SourceResult | undefined;
}

export function readGiven(input: Pick<LoadInput, "flags" | "env" | "given">): GivenSources {
  if (input.given) return input.given;
  const path = input.flags["values"];
  return {
    flags: flagSource(input.flags),
    env: envSource(input.env),
    values: path === undefined ? undefined : valuesFileSource(path),
  };
}

/** The settings the user gave by flag, environment or values file (highest first wins): the wizard does not ask them again. */
export function suppliedValues(input: Pick<LoadInput, "flags" | "env" | "given">): RawSource {
  const given = readGiven(input);
  const { sources } = partsAsUrl([given.flags.source, given.env, ...(given.values ? [given.values.source] : [])]);
  return Object.assign({}, ...sources.reverse());
}

function first(sources: readonly RawSource[], key: FieldKey): { value: string; field: string } | undefined {
  return sources.map((s) => s[key]).find((v) => v !== undefined);
}

/**
 * Flags > environment > --values file > wizard answers > the install's recorded answers >
 * defaults; the installed secrets are kept unless a replacement is asked for. Every problem of
 * every source is reported together.
 */
export function loadConfig(input: LoadInput): ResolveResult {
  const problems: ConfigProblem[] = [];
  const user: RawSource[] = [];
  const given = readGiven(input);
  problems.push(...given.flags.problems);
  user.push(given.flags.source, given.env);
  if (given.values) {
    problems.push(...given.values.problems);
    user.push(given.values.source);
  }
  if (input.prompted) user.push(input.prompted);
  const byParts = partsAsUrl(user);
  problems.push(...byParts.problems);
  user.splice(0, user.length, ...byParts.sources);
  let sources = user;
  let notices: readonly string[] = [];
  if (input.installed) {
    const rotate = input.rotateSecrets ?? [];
    const secrets = decideSecrets(
      input.installed,
      (key) => first(user, key),
      [...(input.replaceSecrets ?? []), ...rotate],
      rotate,
      movingPostgres(input.installed, first(user, "postgresUrl")),
    );
    problems.push(...secrets.problems);
    notices = secrets.notices;
    sources = [
      secrets.kept,
      ...user,
      recordedAnswers(input.installed, first(user, "tag") !== undefined),
      secrets.fallback,
    ];
  }
  const resolved = resolveConfig(sources, {
    forInstall: input.forInstall ?? false,
    apiKeyMayComeLater: input.apiKeyMayComeLater ?? false,
    companionsMayComeLater: input.beforeRecord ?? false,
  });
  if (resolved.ok && problems.length === 0) return { ...resolved, notices: [...notices, ...resolved.notices] };
  return { ok: false, problems: [...problems, ...(resolved.ok ? [] : resolved.problems)] };
}

/** Where PostgreSQL's data moves to, when the URL given switches between the cluster's and your own. */
function movingPostgres(installed: Installed, url: { value: string } | undefined): "own" | "cluster" | undefined {
  if (!installed.answers || url === undefined) return undefined;
  const was = Boolean(installed.answers.postgresUrl);
  if (was && url.value === "") return "cluster";
  if (!was && url.value !== "") return "own";
  return undefined;
}
