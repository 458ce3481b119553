/**
 * Monaco's modules outside its public API have no type declarations. monaco-loader.ts imports some only to
 * evaluate them in steps (any type will do), and monaco.ts uses the few below to set Monaco up in steps.
 */
declare module 'monaco-editor/*';

declare module 'monaco-editor/editor/standalone/browser/standaloneServices' {
  /** The editor's service collection; `get` creates a service (and what it depends on) on first use. */
  export const StandaloneServices: { get(id: unknown): unknown; initialize(overrides: object): unknown };
}

declare module 'monaco-editor/platform/instantiation/common/extensions' {
  /** Every service registered as a singleton: [its id, how to create it]. */
  export function getSingletonServiceDescriptors(): [unknown, unknown][];
}

declare module 'monaco-editor/editor/browser/config/fontMeasurements' {
  /** Measures a font's character widths once per window (DOM reads) and caches them. */
  export const FontMeasurements: { readFontInfo(targetWindow: Window, bareFontInfo: unknown): unknown };
}

declare module 'monaco-editor/editor/common/config/fontInfoFromSettings' {
  export function createBareFontInfoFromRawSettings(
    options: { fontFamily?: string; fontWeight?: string; fontSize?: number; fontLigatures?: boolean | string; lineHeight?: number; letterSpacing?: number },
    pixelRatio: number,
  ): unknown;
}

declare module 'monaco-editor/base/browser/pixelRatio' {
  export const PixelRatio: { getInstance(targetWindow: Window): { readonly value: number } };
}
