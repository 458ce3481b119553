import { EngineError } from "../oci/errors.ts";

/** A tar or image archive we refuse to read. `entry` names the offending member when there is one. */
export class ArchiveError extends EngineError {
  readonly entry?: string;
  constructor(
    message: string,
    options: { entry?: string; cause?: unknown } = {},
  ) {
    super(
      options.entry !== undefined
        ? `${message} (entry ${JSON.stringify(options.entry)})`
        : message,
    );
    this.entry = options.entry;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}
