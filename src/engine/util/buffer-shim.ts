/**
 * dockerfile-ast calls `Buffer.from(char, 'UTF-8')` (Node only) to spot a UTF-8 BOM. The browser has no
 * Buffer; this is the one method it needs, installed only when missing.
 */
const g = globalThis as { Buffer?: unknown };
g.Buffer ??= { from: (text: string) => new TextEncoder().encode(text) };
export {};
