// The image side of the engine. (store/node-dir.ts is Node-only and imported directly, never from here.)
export * from "./oci/index.ts";
export * from "./store/backend.ts";
export * from "./store/image-store.ts";
// Backends with a platform (store/idb.ts for browsers, store/node-dir.ts for Node) are imported directly
// by the composition roots in src/host/, so this index stays platform-free.
export * from "./layers/index.ts";
export * from "./archive/index.ts";
export * from "./format.ts";
