// The image side of the engine. (store/node-dir.ts is Node-only and imported directly, never from here.)
export * from "./oci/index.ts";
export * from "./store/backend.ts";
export * from "./store/image-store.ts";
export { IdbBackend } from "./store/idb.ts";
export * from "./layers/index.ts";
export * from "./archive/index.ts";
export * from "./format.ts";
