/**
 * Typed errors at the engine's edges. Messages follow the Docker daemon's wording where Docker has one, so
 * what a learner reads here is what they will read from real Docker.
 */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** "No such image: foo:latest" */
export class NotFoundError extends EngineError {
  constructor(
    readonly kind: "image" | "blob" | "layer" | "container" | "volume" | "network",
    readonly ref: string,
  ) {
    super(`No such ${kind}: ${ref}`);
  }
}

/** Docker's "conflict: unable to delete ..." family (rmi with dependants, ambiguous IDs, ...). */
export class ConflictError extends EngineError {}

export class InvalidReferenceError extends EngineError {
  constructor(
    readonly ref: string,
    reason: string,
  ) {
    super(`invalid reference format: ${reason}`);
  }
}

export class InvalidDigestError extends EngineError {
  constructor(readonly value: string) {
    super(
      `invalid digest ${JSON.stringify(value)}: expected sha256:<64 lowercase hex>`,
    );
  }
}

/** Bytes whose sha256 is not the digest they were stored or referenced under. */
export class DigestMismatchError extends EngineError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly what: string,
  ) {
    super(`digest mismatch for ${what}: expected ${expected}, got ${actual}`);
  }
}

/** The stored data was written by a newer Layerlab, or a migration failed. */
export class SchemaError extends EngineError {}
