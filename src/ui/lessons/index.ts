/** The lesson player. The app mounts `LessonPlayer` in its layout with an evaluator and a store. */
export { default as LessonPlayer } from './LessonPlayer.svelte';
export { LessonPlayer as LessonPlayerState } from './player.svelte.ts';
export type { FocusEvent, ResetEvent, SolutionEvent, LessonEvaluator, Progress, ProgressStore } from './types.ts';
export { renderMarkdown } from './markdown.ts';
