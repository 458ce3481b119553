/**
 * Lesson Markdown → sanitized HTML. Shell code blocks get a "Type it" button (data-cmd) that the player
 * turns into text typed into the terminal; nothing is ever run without the learner pressing Enter.
 */
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

const marked = new Marked({
  gfm: true,
  renderer: {
    code({ text, lang }) {
      const language = (lang ?? '').trim().split(/\s+/)[0] ?? '';
      const body = `<pre class="lang-${escapeHtml(language || 'text')}"><code>${escapeHtml(text)}</code></pre>`;
      if (!['sh', 'shell', 'bash', 'console'].includes(language)) return body;
      return `<div class="cmd-block">${body}<button type="button" class="type-cmd" data-cmd="${escapeHtml(text)}" title="Type these commands into the terminal">Type it</button></div>`;
    },
    link({ href, text }) {
      return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text)}</a>`;
    },
  },
});

export function renderMarkdown(md: string): string {
  const html = marked.parse(md, { async: false }) as string;
  return DOMPurify.sanitize(html, { ADD_ATTR: ['target'] });
}

/** Inline Markdown written by lesson authors (summaries, hints, check labels). */
export function renderInline(md: string): string {
  return DOMPurify.sanitize(marked.parseInline(md, { async: false }) as string);
}

/**
 * Check results, which quote what the learner's containers printed and named: code spans and emphasis,
 * nothing else (no buttons, links or images), so a container's output cannot put controls on the page.
 */
export function renderCheckMessage(md: string): string {
  return DOMPurify.sanitize(marked.parseInline(md, { async: false }) as string, { ALLOWED_TAGS: ['code', 'em', 'strong'], ALLOWED_ATTR: [] });
}
