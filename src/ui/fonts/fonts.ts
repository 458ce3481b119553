/**
 * The app's fonts, all bundled, so that no layout waits for the installed fonts.
 *
 * On Linux, Chromium matches a font family to an installed font, finds a fallback font for a character the
 * font lacks, and fetches each installed font's rendering settings per size and style (a "strike") by asking
 * the browser process and waiting for the answer; the answers are cached per thread. On a busy machine (the
 * VM's worker holds one of two cores) one answer took from tens of milliseconds up to 0.9 s, and the page's
 * first layouts (the layer view's labels, Monaco measuring its font, the terminal) held the main thread for
 * seconds while their CPU time was a few dozen milliseconds. A font the page provides itself needs none of
 * those questions. Asking the same questions in a worker first did not help: the caches are per thread.
 */
import interUrl from '@fontsource-variable/inter/files/inter-latin-wght-normal.woff2?url';
import jetBrainsMonoUrl from '@fontsource-variable/jetbrains-mono/files/jetbrains-mono-latin-wght-normal.woff2?url';
import symbolsUrl from './bundled/symbols.woff2?url';
import wideSymbolsUrl from './bundled/symbols-wide.woff2?url';

/** The family of the characters beyond Latin the page draws (bundled/make-symbols.sh makes its files). */
const SYMBOLS_FAMILY = 'Layerlab Symbols';

/**
 * Inter and JetBrains Mono (their Latin subsets as variable fonts: every weight, italic slanted from the
 * upright; 88 KB together), then the symbols the UI draws and the few characters Monaco measures when it
 * starts (3 KB; their ranges as bundled/make-symbols.sh cuts them).
 */
const BUNDLED_FONTS: { family: string; url: string; unicodeRange?: string }[] = [
  { family: 'Inter', url: interUrl },
  { family: 'JetBrains Mono', url: jetBrainsMonoUrl },
  { family: SYMBOLS_FAMILY, url: symbolsUrl, unicodeRange: 'U+2190, U+2192, U+2194, U+2197, U+21B5, U+21BA-21BB, U+21E0, U+2265, U+2318, U+25A0, U+25B2, U+25B6, U+25B8, U+25BE, U+25CF, U+2600, U+2630, U+263E, U+2713, U+2715, U+2717, U+275A, U+27F2' },
  { family: SYMBOLS_FAMILY, url: wideSymbolsUrl, unicodeRange: 'U+2E31, U+FF4D, U+FFEB' },
];

/** Longest wait for the bundled fonts before the page draws anyway (with the stacks' generic fonts). */
const FONT_WAIT_MS = 1500;

/** Adds the bundled fonts to the page and resolves once they are ready to draw (or FONT_WAIT_MS passed). */
export async function loadFonts(): Promise<void> {
  if (typeof FontFace === 'undefined' || typeof document === 'undefined' || !document.fonts) return;
  const faces = BUNDLED_FONTS.map(
    ({ family, url, unicodeRange }) => new FontFace(family, `url(${url}) format('woff2')`, { weight: '100 900', display: 'block', ...(unicodeRange ? { unicodeRange } : {}) }),
  );
  for (const face of faces) document.fonts.add(face);
  await Promise.race([Promise.all(faces.map((face) => face.load())).catch(() => {}), new Promise((resolve) => setTimeout(resolve, FONT_WAIT_MS))]);
}

/**
 * The code font: editor and terminal (theme.css's --mono is the same stack for the rest of the page). After
 * the bundled fonts only the generic family, for characters none of them has: each other name would be one
 * more question to the installed fonts.
 */
export const CODE_FONT_FAMILY = `'JetBrains Mono', '${SYMBOLS_FAMILY}', monospace`;
