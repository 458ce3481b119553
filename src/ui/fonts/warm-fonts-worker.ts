/// <reference lib="webworker" />
/** Measures `text` in each of `fonts` once (see fonts.ts: the lookups it causes are what the page needed), then ends. */
self.onmessage = (event: MessageEvent<{ fonts: string[]; text: string }>) => {
  try {
    const context = new OffscreenCanvas(16, 16).getContext('2d');
    for (const font of event.data.fonts) {
      if (!context) break;
      context.font = font;
      context.measureText(event.data.text);
    }
  } finally {
    self.close();
  }
};
