/** How many stages a Dockerfile has, by its FROM lines: cheap, and without the parser (which is lazy). */
export function countStages(text: string): number {
  return (text.match(/^[ \t]*FROM[ \t]/gim) ?? []).length;
}
