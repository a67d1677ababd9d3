import { RECORD_NAME } from "../facts/names.js";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { FieldKey } from "../config/fields.js";
import { type KubeObject, typed } from "../facts/objects.js";
import { type Infer, object, string } from "../base/schema.js";

/** A history entry of `export --gitops`: `exported (argocd)`. */
export const EXPORTED_OUTCOME = "exported";

/** How many runs the record remembers. */
export const HISTORY_LENGTH = 10;

export const INSTALLED_SUMMARY = object(
  { installerVersion: string(), installedAt: string(), updatedAt: string(), webImage: string() },
  ["installerVersion", "installedAt", "updatedAt", "webImage"],
  "the install the plan was made against (on an upgrade)",
);
/** The install the plan was made against, when there is one. */
export type InstalledSummary = Infer<typeof INSTALLED_SUMMARY>;

/** One run, as `status` and the next run's greeting show it. */
export interface RunEntry {
  readonly time: string;
  readonly installerVersion: string;
  readonly webImage: string;
  readonly workerImage: string;
  /** ok, or the outcome that stopped it (wait-failed, interrupted, …). */
  readonly outcome: string;
  readonly user: string;
  readonly host: string;
  readonly context: string;
}

/**
 * What an install remembers besides its secrets (those stay in the Secret): every non-secret
 * answer, which objects it applied (so a newer installer can prune what it no longer renders),
 * and its last runs.
 */
export interface InstallRecord {
  /** Present once a run succeeded: the answers a re-run starts from. */
  readonly answers?: Readonly<Partial<Record<FieldKey, string>>>;
  /** Answers that were the installer's defaults when first chosen (the rest the user gave). */
  readonly defaults?: readonly FieldKey[];
  readonly installerVersion?: string;
  readonly installedAt?: string;
  readonly updatedAt?: string;
  /** `apiVersion Kind namespace/name` of every object the last successful run applied. */
  readonly inventory: readonly string[];
  /** Set by `--pull`: part of the pod templates, so mutable tags are pulled again once per token. */
  readonly pullToken?: string;
  readonly history: readonly RunEntry[];
  /** The last `verify`: when, and which checks did not pass. */
  readonly verification?: Verification;
  /** A restore under way: web and worker were scaled down from these counts; the next run scales them back. */
  readonly restoring?: PendingRestore;
  /** A move of the database between the cluster and your own PostgreSQL under way: the next run finishes it. */
  readonly moving?: PendingMove;
  /** A switch of Redis under way (web stopped while the queue drains): the next run finishes it. */
  readonly switchingRedis?: PendingRedisSwitch;
}

export interface PendingRedisSwitch {
  readonly to: "own" | "cluster";
  readonly url?: string;
  readonly since: string;
}

/**
 * A move's identity: the database it fills is marked with it at its commit point, so a re-run
 * knows whether the data already moved (and must not be moved again over what the app wrote since).
 */
export interface PendingMove {
  readonly id: string;
  /** "own": into your own PostgreSQL (`url`); "cluster": back into the install's PostgreSQL. */
  readonly to: "own" | "cluster";
  readonly url?: string;
  readonly since: string;
}

export interface PendingRestore {
  readonly file: string;
  readonly since: string;
  readonly replicas: Readonly<Record<string, number>>;
}

export interface Verification {
  readonly time: string;
  readonly ok: boolean;
  readonly failed: readonly string[];
  readonly warned: readonly string[];
  /** The manual checks a person answered (interactive runs): yes, no or skip by id. */
  readonly manual?: Readonly<Record<string, ManualAnswer>>;
}

export type ManualAnswer = "yes" | "no" | "skip";

/** What every command says where a namespace holds no install. */
export function noInstallMessage(namespace: string, context: string): string {
  return `no Mathison install in namespace ${namespace} (context ${context}): no install record (ConfigMap ${RECORD_NAME})`;
}

/** Your own PostgreSQL's URL (no password) when the install uses one, as its record says. */
export function ownPostgresOf(record: InstallRecord): string | undefined {
  return record.answers?.["postgresUrl"] || undefined;
}

export const EMPTY_RECORD: InstallRecord = { inventory: [], history: [] };

function yamlField<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return (parseYaml(text) as T | null) ?? fallback;
  } catch {
    // A hand-edited record that no longer parses is treated as absent, not as a crash.
    return fallback;
  }
}

export function decodeRecord(configMap: KubeObject | undefined): InstallRecord {
  if (!configMap) return EMPTY_RECORD;
  const data: Record<string, string | undefined> = typed(configMap, "ConfigMap").data ?? {};
  const answers = yamlField<Record<string, unknown> | undefined>(data["answers.yaml"], undefined);
  const history = yamlField<RunEntry[]>(data["history.yaml"], []);
  const inventory = yamlField<string[]>(data["inventory.yaml"], []);
  const defaults = yamlField<string[]>(data["defaults.yaml"], []);
  const verification = yamlField<Verification | undefined>(data["verification.yaml"], undefined);
  const restoring = yamlField<PendingRestore | undefined>(data["restoring.yaml"], undefined);
  const moving = yamlField<PendingMove | undefined>(data["moving.yaml"], undefined);
  const switching = yamlField<PendingRedisSwitch | undefined>(data["switching-redis.yaml"], undefined);
  return {
    ...(answers
      ? {
          answers: Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, String(v)])) as Partial<
            Record<FieldKey, string>
          >,
        }
      : {}),
    ...(answers && Array.isArray(defaults) ? { defaults: defaults.map(String) as FieldKey[] } : {}),
    ...(data["installer-version"] ? { installerVersion: data["installer-version"] } : {}),
    ...(data["installed-at"] ? { installedAt: data["installed-at"] } : {}),
    ...(data["updated-at"] ? { updatedAt: data["updated-at"] } : {}),
    ...(data["pull-token"] ? { pullToken: data["pull-token"] } : {}),
    ...(verification && typeof verification === "object" ? { verification } : {}),
    ...(restoring && typeof restoring === "object" && restoring.replicas ? { restoring } : {}),
    ...(moving && typeof moving === "object" && typeof moving.id === "string" ? { moving } : {}),
    ...(switching && typeof switching === "object" && typeof switching.to === "string"
      ? { switchingRedis: switching }
      : {}),
    inventory: Array.isArray(inventory) ? inventory.map(String) : [],
    history: Array.isArray(history) ? history : [],
  };
}

export function encodeRecord(record: InstallRecord, namespace: string): KubeObject {
  const data: Record<string, string> = {
    "history.yaml": stringifyYaml(record.history),
    "inventory.yaml": stringifyYaml(record.inventory),
  };
  if (record.answers) data["answers.yaml"] = stringifyYaml(record.answers, { defaultStringType: "QUOTE_DOUBLE" });
  if (record.defaults) data["defaults.yaml"] = stringifyYaml(record.defaults);
  if (record.installerVersion) data["installer-version"] = record.installerVersion;
  if (record.installedAt) data["installed-at"] = record.installedAt;
  if (record.updatedAt) data["updated-at"] = record.updatedAt;
  if (record.pullToken) data["pull-token"] = record.pullToken;
  if (record.verification) data["verification.yaml"] = stringifyYaml(record.verification);
  if (record.restoring) data["restoring.yaml"] = stringifyYaml(record.restoring);
  if (record.moving) data["moving.yaml"] = stringifyYaml(record.moving);
  if (record.switchingRedis) data["switching-redis.yaml"] = stringifyYaml(record.switchingRedis);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: RECORD_NAME,
      namespace,
      labels: {
        "app.kubernetes.io/name": RECORD_NAME,
        "app.kubernetes.io/component": "install-record",
        "app.kubernetes.io/part-of": "mathison",
        "app.kubernetes.io/managed-by": "mathison-install",
      },
    },
    data,
  };
}

/** The record after a run: a successful one replaces answers and inventory; every run joins the history. */
export interface SuccessfulRun {
  readonly answers: Partial<Record<FieldKey, string>>;
  readonly defaults: readonly FieldKey[];
  readonly inventory: readonly string[];
  readonly pullToken?: string;
}

/**
 * The record as a run starts applying, written before its first object: an inventory covering
 * everything it may create (so `status` sees and `uninstall` removes a run that stopped
 * half-way), and — while no run has completed — its answers, so the same command resumes a
 * failed first install without repeating them. An install that ran keeps its last good answers
 * until a run completes: leaving a flag out after a failed upgrade means the install as it was.
 * The run's end writes `nextRecord` over it.
 */
export function startedRecord(
  previous: InstallRecord,
  answers: Pick<SuccessfulRun, "answers" | "defaults">,
  planned: readonly string[],
): InstallRecord {
  const firstInstall = lastSuccessfulRun(previous) === undefined;
  return {
    ...previous,
    ...(firstInstall ? { answers: answers.answers, defaults: [...answers.defaults] } : {}),
    inventory: [...new Set([...previous.inventory, ...planned])],
  };
}

/**
 * The last HISTORY_LENGTH runs, and always the newest that completed: what is installed is read
 * from it, so ten failed or interrupted runs in a row never make an install look absent.
 */
function trimmed(history: readonly RunEntry[]): RunEntry[] {
  const kept = history.slice(-HISTORY_LENGTH);
  const lastOk = [...history].reverse().find((r) => r.outcome === "ok");
  return lastOk && !kept.includes(lastOk) ? [lastOk, ...kept.slice(1)] : kept;
}

export function nextRecord(previous: InstallRecord, run: RunEntry, success?: SuccessfulRun): InstallRecord {
  const history = trimmed([...previous.history, run]);
  if (!success) return { ...previous, history };
  // A new version of the install was not verified yet: the last verification was of the old one.
  // Its apply set web's and worker's replicas: a restore it interrupted is finished, and so is a move.
  const {
    pullToken: _dropped,
    verification: _old,
    restoring: _scaledBack,
    moving: _moved,
    switchingRedis: _switched,
    ...rest
  } = previous;
  return {
    ...rest,
    answers: success.answers,
    defaults: [...success.defaults],
    inventory: [...success.inventory],
    installerVersion: run.installerVersion,
    installedAt: previous.installedAt ?? run.time,
    updatedAt: run.time,
    ...(success.pullToken ? { pullToken: success.pullToken } : {}),
    history,
  };
}

/**
 * The newest run that completed: what is installed now. An export changes nothing in the cluster,
 * so it counts only for an install that no run of the installer ever completed (one a GitOps
 * controller applied from the export).
 */
export function lastSuccessfulRun(record: InstallRecord): RunEntry | undefined {
  const newestFirst = [...record.history].reverse();
  return newestFirst.find((r) => r.outcome === "ok") ?? newestFirst.find((r) => r.outcome.startsWith(EXPORTED_OUTCOME));
}

/** The install as a greeting or plan names it: what runs (the last successful run's image), since when, by which installer. */
export function summarizeRecord(record: InstallRecord): InstalledSummary | undefined {
  if (!record.answers) return undefined;
  const lastOk = lastSuccessfulRun(record);
  return {
    ...(record.installerVersion ? { installerVersion: record.installerVersion } : {}),
    ...(record.installedAt ? { installedAt: record.installedAt } : {}),
    ...(record.updatedAt ? { updatedAt: record.updatedAt } : {}),
    ...(lastOk ? { webImage: lastOk.webImage } : {}),
  };
}
