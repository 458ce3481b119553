export * from "./digest.ts";
export * from "./errors.ts";
export * from "./types.ts";
export * from "./reference.ts";
export * from "./image.ts";
