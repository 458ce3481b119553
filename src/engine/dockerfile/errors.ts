/**
 * Errors and warnings of the Dockerfile front end. Every problem names the Dockerfile line it came
 * from, so the UI can put a marker on it and the CLI can print `Dockerfile:3`.
 */

/** 1-based, inclusive line range of an instruction in the Dockerfile. */
export interface LineRange {
  start: number;
  end: number;
}

export interface DockerfileErrorInit {
  /** 1-based line the problem is on (0 when it is about the whole file). */
  line: number;
  /** 1-based column, when known. */
  column?: number;
  message: string;
  /** What the learner can do about it. */
  hint?: string;
}

/** A problem in the Dockerfile or the build context that stops the build. */
export class DockerfileError extends Error {
  readonly line: number;
  readonly column?: number;
  readonly hint: string;
  /** When several problems were collected (parsing), all of them; this error is the first. */
  readonly all: DockerfileError[];

  constructor(init: DockerfileErrorInit, all?: DockerfileError[]) {
    super(init.message);
    this.name = 'DockerfileError';
    this.line = init.line;
    this.column = init.column;
    this.hint = init.hint ?? '';
    this.all = all ?? [this];
  }

  /** `Dockerfile:3: Unknown instruction: RUNN` — the form the CLI prints. */
  toString(): string {
    const where = this.line > 0 ? `Dockerfile:${this.line}: ` : 'Dockerfile: ';
    return where + this.message + (this.hint ? ` (${this.hint})` : '');
  }
}

/** Something worth telling the learner that does not stop the build. */
export interface DockerfileWarning {
  line: number;
  message: string;
}

/** Throws the first of several collected errors, carrying all of them in `.all`. */
export function throwIfErrors(errors: DockerfileError[]): void {
  if (errors.length === 0) return;
  const first = errors[0]!;
  throw new DockerfileError(
    { line: first.line, column: first.column, message: first.message, hint: first.hint },
    errors,
  );
}
