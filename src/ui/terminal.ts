// Everything that takes the terminal (Ink screens, typed questions), as one module: commands load
// it only when they run interactively (through load-terminal.ts), and the published bundle keeps
// it in files of its own (scripts/bundle.mjs).
export { wizardFrontEnd } from "./wizard/front-end.js";
export { askToType } from "./wizard/wizard.js";
export { inkVerifyFrontEnd } from "./ink-checklist.js";
