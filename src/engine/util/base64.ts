/**
 * The one base64 (and base64url) codec: binary data in agent messages, credentials, share links, the
 * workspace store and embed URLs. Works in Node and browsers, no Buffer. Text is always UTF-8 first:
 * `btoa` alone throws on any character above U+00FF (an `é` is fine, a `✓` or an emoji is not).
 */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

/** Base64 of the UTF-8 bytes of `text`. */
export function textToBase64(text: string): string {
  return toBase64(new TextEncoder().encode(text));
}

/** The UTF-8 text whose bytes `base64` holds (invalid sequences become U+FFFD). */
export function base64ToText(base64: string): string {
  return new TextDecoder().decode(fromBase64(base64));
}

/** base64url (RFC 4648 §5) without padding: safe in URLs and fragments as it is. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Accepts base64url with or without padding; throws (as `atob` does) on anything else. */
export function fromBase64Url(text: string): Uint8Array {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return fromBase64(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
}
