import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InstallConfig } from "../../config/types.js";
import { planYaml, stageFileName, stageYaml } from "../../render/output.js";
import { imagesOf, renderPlan, type RenderedPlan } from "../../render/render.js";
import { fullyQualified } from "../../config/validate.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";

export interface RenderOptions {
  readonly outDir: string | undefined;
  readonly showSecrets: boolean;
  /** `--images`: the image list instead of the objects. */
  readonly images: boolean;
}

export function runRender(config: InstallConfig, options: RenderOptions, io: CliIO): ExitCodeValue {
  const plan = renderPlan(config);
  if (options.images) {
    io.stdout.write(imageLines(config, plan));
    return ExitCode.ok;
  }
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

/**
 * One image a line, as the cluster will pull it; with a mirror, `SOURCE MIRROR` pairs with the
 * source fully qualified, so `xargs -n2 crane copy` (or skopeo) fills the mirror.
 */
function imageLines(config: InstallConfig, plan: RenderedPlan): string {
  const pulled = imagesOf(plan);
  if (!config.imageRegistry) return pulled.map((i) => `${i}\n`).join("");
  const sources = imagesOf(renderPlan({ ...config, imageRegistry: undefined }));
  return sources.map((src, i) => `${fullyQualified(src)} ${pulled[i]}\n`).join("");
}
