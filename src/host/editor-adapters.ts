/**
 * What the page's editor and lessons ask of the engine, in the shapes they use: a build of the editor's
 * files with the Dockerfile's lints, and a lesson's reset.
 */
import type { Engine } from '../engine/engine.ts';
import { parseDockerfile, lintDockerfile, type ContextEntry } from '../engine/dockerfile/index.ts';
import type { BuildEvent } from '../engine/build/events.ts';
import type { EngineLessonContext } from '../lessons/engine-context.ts';
import { contextMode } from './workspace-mirror.ts';

export interface EditorBuild {
  files: { path: string; data: Uint8Array }[];
  dockerfile: string;
  tag: string;
}

export interface EditorBuildResult {
  imageId?: string;
  error?: string;
  line?: number;
  lints: { line: number; severity: string; message: string }[];
}

/** Builds the editor's files; a failed build is a result (message and Dockerfile line), not a throw. */
export async function buildFromEditor(engine: Engine, options: EditorBuild, signal: AbortSignal, onEvent: (event: BuildEvent) => void): Promise<EditorBuildResult> {
  const context: ContextEntry[] = options.files.map((f) => ({ path: f.path, mode: contextMode(f.path, f.data), data: f.data }));
  const text = new TextDecoder().decode(options.files.find((f) => f.path === options.dockerfile)?.data ?? new Uint8Array());
  const parsed = parseDockerfile({ text });
  const knownTags = (await engine.images()).flatMap((image) => image.repoTags);
  const lints = parsed.errors.length ? [] : lintDockerfile({ dockerfile: parsed, knownTags }).map((l) => ({ line: l.line, severity: l.severity, message: l.message }));
  try {
    const result = await engine.build({ dockerfile: text, parsed, context, tags: [options.tag], signal, onEvent });
    return { imageId: result.imageId, lints };
  } catch (error) {
    return { error: (error as Error).message, line: (error as { line?: number }).line, lints };
  }
}

/** A lesson's "reset": no containers, only the base images, no remembered build. */
export async function resetLesson(engine: Engine, lessons: EngineLessonContext): Promise<void> {
  for (const container of await engine.ps({ all: true })) await engine.rm({ container: container.id, force: true }).catch(() => {});
  for (const image of await engine.images()) {
    if (image.repoTags.some((tag) => /^(busybox|python):/.test(tag))) continue;
    await engine.rmi({ ref: image.id, force: true }).catch(() => {});
  }
  lessons.resetBuilds();
}
