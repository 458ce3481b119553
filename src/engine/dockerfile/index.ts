/**
 * The Dockerfile front end of the engine: parse → plan → (context, cache) → the executor runs it.
 *
 *   const parsed = parseDockerfile({ text });
 *   const plan = planBuild({ dockerfile: parsed, buildArgs, target, baseImageConfig });
 *   const { files } = filterContext({ files: contextFiles });
 *   for each step: resolveCopySources → fingerprintItems → computeCacheKey → run or reuse
 */
export * from './ast.ts';
export * from './errors.ts';
export { parseDockerfile, type ParseOptions, type ParseResult } from './parse.ts';
export * from './substitute.ts';
export * from './config.ts';
export * from './plan.ts';
export * from './mounts.ts';
export * from './context.ts';
export * from './cache.ts';
export * from './lint.ts';
