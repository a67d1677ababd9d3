// Every command, as one module: main.ts loads it once a command runs (see there why one).
export { runInstall, runPreflight } from "./install.js";
export { runVerify } from "./verify.js";
export { runSupportBundle } from "./support-bundle.js";
export { runStatus } from "./status.js";
export { runUninstall } from "./uninstall.js";
export { runBackup } from "./backup.js";
export { runRestore } from "./restore.js";
export { runExport, runSecrets } from "./gitops.js";
export { runRender } from "./render.js";
export { loadConfig } from "../../config/load.js";
