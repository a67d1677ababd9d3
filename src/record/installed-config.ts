import type { FieldKey } from "../config/fields.js";
import { recordedAnswers } from "../config/installed.js";
import { resolveConfig } from "../config/resolve.js";
import type { SecretKey } from "../config/secret-keys.js";
import type { RawSource } from "../config/sources.js";
import type { InstallConfig } from "../config/types.js";
import type { InstallState } from "./store.js";

/**
 * The install's configuration as its record and Secret hold it: what a command that does not
 * take the settings (verify, backup, restore) needs to reach your own databases the way the
 * install does.
 */
export function installedConfig(state: InstallState): InstallConfig {
  const answers = recordedAnswers(
    {
      answers: (state.record.answers ?? {}) as Partial<Record<FieldKey, string>>,
      secrets: {},
      recordName: "record",
      secretName: "Secret",
    },
    false,
  );
  const secrets: RawSource = {};
  for (const [key, value] of Object.entries(state.secrets) as [SecretKey, string][])
    if (value) secrets[key] = { value, field: `Secret ${key}` };
  const r = resolveConfig([answers, secrets]);
  if (!r.ok) throw new Error(`the install's record does not resolve: ${r.problems.map((p) => p.field).join(", ")}`);
  return r.config;
}
