import { fieldSpec, FIELDS, type FieldKey } from "./fields.js";
import type { RawSource } from "./sources.js";
import type { ConfigProblem } from "./types.js";
import { parseImageReference } from "./validate.js";
import { ROTATABLE, type SecretKey, SECRET_DATA_KEYS } from "./secret-keys.js";

/** What an existing install holds: the record's answers and the Secret's values. */
export interface Installed {
  readonly answers: Readonly<Partial<Record<FieldKey, string>>> | undefined;
  readonly secrets: Readonly<Partial<Record<SecretKey, string>>>;
  /** How messages name them: `ConfigMap ns/mathison-install`, `Secret ns/mathison-secrets`. */
  readonly recordName: string;
  readonly secretName: string;
}

const SECRET_KEYS = Object.keys(SECRET_DATA_KEYS) as SecretKey[];
/** Secrets a run may replace on request; the database password never (PostgreSQL keeps its own). */
export const REPLACEABLE: readonly SecretKey[] = ["anthropicApiKey", "authSecret"];

/**
 * The recorded answers as a config source. A recorded image that names its own tag follows a tag
 * given in this run (`--tag 1.2.0` upgrades it): a tag only the record carries would otherwise
 * win over the new one and the upgrade would silently change nothing.
 */
export function recordedAnswers(installed: Installed, tagGiven: boolean): RawSource {
  const source: RawSource = {};
  for (const [key, value] of Object.entries(installed.answers ?? {}) as [FieldKey, string][]) {
    if (fieldSpec(key)?.secret) continue;
    let v = value;
    if (tagGiven && (key === "webImage" || key === "workerImage")) v = parseImageReference(value)?.name ?? value;
    source[key] = { value: v, field: `${installed.recordName} ${key}`, fromInstall: true };
  }
  return source;
}

/** `ANTHROPIC_API_KEY,AUTH_SECRET` as the user wrote it → secret keys, or a problem line. */
export function parseReplaceSecrets(value: string | undefined): { keys: SecretKey[]; problems: ConfigProblem[] } {
  if (value === undefined) return { keys: [], problems: [] };
  const keys: SecretKey[] = [];
  const problems: ConfigProblem[] = [];
  for (const name of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    // POSTGRES_PASSWORD only for your own PostgreSQL: decideSecrets, which knows the install, says so.
    const key = SECRET_KEYS.find((k) => SECRET_DATA_KEYS[k] === name);
    if (key) keys.push(key);
    else
      problems.push({
        field: "--replace-secret",
        shownValue: JSON.stringify(name),
        allowed: REPLACE_ALLOWED,
      });
  }
  return { keys, problems };
}

const REPLACE_ALLOWED =
  "ANTHROPIC_API_KEY or AUTH_SECRET (comma-separated); with your own databases also POSTGRES_PASSWORD, REDIS_PASSWORD";

/** `--rotate POSTGRES_PASSWORD,AUTH_SECRET` → secret keys, or the one-line problem. */
export function parseRotate(value: string | undefined): SecretKey[] | string {
  if (value === undefined) return [];
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(n in ROTATABLE));
  if (unknown.length > 0 || names.length === 0) {
    return `--rotate: ${JSON.stringify(value)} is not allowed: POSTGRES_PASSWORD and/or AUTH_SECRET, comma-separated (ANTHROPIC_API_KEY is yours: --replace-secret)`;
  }
  return [...new Set(names.map((n) => ROTATABLE[n]!))];
}

export interface SecretDecision {
  /** Installed values that win over what the user's sources say. */
  readonly kept: RawSource;
  /** Installed values below the user's sources (nothing given, or a replacement asked for). */
  readonly fallback: RawSource;
  readonly problems: readonly ConfigProblem[];
  /** One line each, naming the key, never the value. */
  readonly notices: readonly string[];
}

/**
 * Kept secrets change only when asked. A value from the environment or a file that differs from
 * the installed one is not applied (the run says so and how to replace it on purpose); a
 * different POSTGRES_PASSWORD is refused outright.
 */
export function decideSecrets(
  installed: Installed,
  given: (key: SecretKey) => { value: string; field: string } | undefined,
  replace: readonly SecretKey[],
  rotate: readonly SecretKey[] = [],
  moving?: "own" | "cluster",
): SecretDecision {
  const kept: RawSource = {};
  const fallback: RawSource = {};
  const problems: ConfigProblem[] = [];
  const notices: string[] = [];
  const ownPostgres = Boolean(installed.answers?.postgresUrl);
  problems.push(...ownDatabaseProblems(installed, given, replace, rotate));
  for (const key of SECRET_KEYS) {
    const current = installed.secrets[key];
    const supplied = given(key);
    const name = SECRET_DATA_KEYS[key];
    // A CA bundle is public: the one given is the one used.
    if (PUBLIC_KEYS.has(key) && supplied) continue;
    // Refused above (ownDatabaseProblems): a replaced in-cluster password.
    if (key === "postgresPassword" && replace.includes(key) && !rotate.includes(key) && !ownPostgres) continue;
    const source = { value: current ?? "", field: `${installed.secretName} ${name}`, fromInstall: true };
    // The data moves: the password given is the one of where it goes. Your own PostgreSQL's must
    // be given (the cluster's is no use there); the cluster's takes the installed one unless given.
    if (key === "postgresPassword" && moving && (supplied || moving === "own")) continue;
    if (current === undefined || current === "") {
      if (replace.includes(key) && !supplied && key === "anthropicApiKey") problems.push(needsNewValue(key));
      continue;
    }
    if (rotate.includes(key)) {
      notices.push(ROTATED[key] ?? `${name}: rotated (--rotate)`);
      continue;
    }
    if (replace.includes(key)) {
      if (!supplied && key === "anthropicApiKey") problems.push(needsNewValue(key));
      else
        notices.push(
          supplied && supplied.value === current
            ? `${name}: the value given equals the installed one; nothing to replace`
            : `${name}: replaced as asked (--replace-secret)${supplied ? "" : " with a newly generated value"}`,
        );
      continue;
    }
    if (!supplied || supplied.value === current) {
      fallback[key] = source;
      continue;
    }
    if (key === "postgresPassword" && ownPostgres) {
      kept[key] = source;
      notices.push(
        `${name}: kept the installed value; the one from ${supplied.field} differs and was not applied (your own PostgreSQL's new password, after you changed it there: --replace-secret ${name})`,
      );
      continue;
    }
    if (key === "postgresPassword") {
      problems.push({
        field: supplied.field,
        shownValue: `(hidden, ${supplied.value.length} characters)`,
        allowed: `the password the database was initialised with (kept in ${installed.secretName} ${name}): PostgreSQL ignores a new POSTGRES_PASSWORD and the app would be locked out; omit it to keep the current one, or change it inside PostgreSQL first`,
      });
      continue;
    }
    kept[key] = source;
    notices.push(
      `${name}: kept the installed value; the one from ${supplied.field} differs and was not applied (to replace it on purpose: --replace-secret ${name})`,
    );
  }
  return { kept, fallback, problems, notices };
}

const PUBLIC_KEYS: ReadonlySet<SecretKey> = new Set(["postgresCaCert", "redisCaCert"]);

/**
 * The database password of your own PostgreSQL is yours to change (in its console), then to give
 * with --replace-secret; the in-cluster one's only changes by --rotate, inside PostgreSQL first.
 */
function ownDatabaseProblems(
  installed: Installed,
  given: (key: SecretKey) => { value: string; field: string } | undefined,
  replace: readonly SecretKey[],
  rotate: readonly SecretKey[],
): ConfigProblem[] {
  const own = Boolean(installed.answers?.postgresUrl);
  const problem = (field: string, allowed: string): ConfigProblem => ({
    field,
    shownValue: JSON.stringify("POSTGRES_PASSWORD"),
    allowed,
  });
  if (own && rotate.includes("postgresPassword"))
    return [
      problem(
        "--rotate",
        "AUTH_SECRET: your own PostgreSQL's password is changed where it runs (its console, or ALTER ROLE as its admin); then give the new one with --replace-secret POSTGRES_PASSWORD and MATHISON_POSTGRES_PASSWORD or --postgres-password-file",
      ),
    ];
  if (!own && replace.includes("postgresPassword") && !rotate.includes("postgresPassword"))
    return [
      problem(
        "--replace-secret",
        "ANTHROPIC_API_KEY or AUTH_SECRET: PostgreSQL reads POSTGRES_PASSWORD only when it initialises its data, so a new one would lock the app out; --rotate POSTGRES_PASSWORD changes it inside PostgreSQL first",
      ),
    ];
  if (own && replace.includes("postgresPassword") && !given("postgresPassword"))
    return [needsNewValue("postgresPassword")];
  return [];
}

const ROTATED: Partial<Record<SecretKey, string>> = {
  postgresPassword:
    "POSTGRES_PASSWORD: rotated (--rotate): the new one is set inside PostgreSQL first, then in the Secret; web and worker roll",
  authSecret: "AUTH_SECRET: rotated (--rotate): a new one is generated; every signed-in session ends",
};

function needsNewValue(key: SecretKey): ConfigProblem {
  const spec = FIELDS.find((f) => f.key === key)!;
  return {
    field: "--replace-secret",
    shownValue: JSON.stringify(SECRET_DATA_KEYS[key]),
    allowed: `a new value to replace it with: set ${spec.env} or pass ${spec.flag}`,
  };
}
