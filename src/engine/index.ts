// The engine's public module: what code outside src/engine (the docker client, the UI, lessons) may use.
// Platform backends (store/idb.ts for browsers, store/node-dir.ts for Node) and the guest are wired by the
// composition roots in src/host/, which may reach further in; this index stays platform-free.
export type * from "./api.ts";
export * from "./oci/index.ts";
export * from "./store/backend.ts";
export * from "./store/image-store.ts";
export * from "./layers/index.ts";
export * from "./archive/index.ts";
export * from "./dockerfile/index.ts";
export { RegistryError, RegistryUnavailableError, PlatformError } from "./registry/errors.ts";
export { isLocalRegistry, locate } from "./registry/location.ts";
export type { LayerStatus, TransferEvent } from "./registry/progress.ts";
export { BuildError, type BuildEvent, type BuildStepInfo } from "./build/events.ts";
export { parsePublish, exposedTcpPorts, EPHEMERAL_PORT_START } from "./network/ports.ts";
