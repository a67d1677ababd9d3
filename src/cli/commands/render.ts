import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InstallConfig } from "../../config/types.js";
import { planYaml, stageFileName, stageYaml } from "../../render/output.js";
import { renderPlan } from "../../render/render.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";

export interface RenderOptions {
  readonly outDir: string | undefined;
  readonly showSecrets: boolean;
}

export function runRender(config: InstallConfig, options: RenderOptions, io: CliIO): ExitCodeValue {
  const plan = renderPlan(config);
  const outputOptions = { showSecrets: options.showSecrets };
  if (options.outDir === undefined) {
    io.stdout.write(planYaml(plan, outputOptions));
    return ExitCode.ok;
  }
  mkdirSync(options.outDir, { recursive: true });
  for (const stage of plan.stages) {
    const path = join(options.outDir, stageFileName(stage));
    // Unredacted secrets only where asked for, and then readable by the owner alone.
    writeFileSync(path, stageYaml(stage, plan.stages.length, outputOptions), {
      mode: options.showSecrets ? 0o600 : 0o644,
    });
    io.stderr.write(`wrote ${path}\n`);
  }
  return ExitCode.ok;
}
