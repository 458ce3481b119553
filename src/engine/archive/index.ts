export * from "./errors.ts";
export * from "./tar.ts";
export * from "./save.ts";
export * from "./load.ts";
