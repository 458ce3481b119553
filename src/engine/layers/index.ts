export * from "./tree.ts";
export * from "./analysis.ts";
export * from "./docker-diff.ts";
