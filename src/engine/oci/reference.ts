/**
 * Image references the way the docker CLI normalizes them: `busybox` → `busybox:latest`,
 * `docker.io/library/busybox:1.36` → `busybox:1.36`. We keep Docker's "familiar" form as the stored name, so
 * `docker images` shows what Docker shows.
 */
import { isDigest, type Digest } from "./digest.ts";
import { InvalidReferenceError } from "./errors.ts";

export interface Reference {
  /** Familiar repository name: `busybox`, `me/app`, `localhost:5000/app`. */
  name: string;
  /** Tag, `latest` when none was given (and no digest was given). */
  tag: string;
  /** Set for `name@sha256:...` references. */
  digest?: Digest;
  /** `name:tag`, the key tags are stored under. */
  full: string;
}

const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DOMAIN_RE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;

export const DEFAULT_TAG = "latest";

export function parseReference(ref: string): Reference {
  if (ref.length === 0 || ref.length > 255)
    throw new InvalidReferenceError(ref, "invalid reference format");
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d))
      throw new InvalidReferenceError(ref, `invalid digest in "${ref}"`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag))
      throw new InvalidReferenceError(ref, `invalid tag "${tag}"`);
  }
  const parts = rest.split("/");
  let domain: string | undefined;
  if (
    parts.length > 1 &&
    (parts[0].includes(".") ||
      parts[0].includes(":") ||
      parts[0] === "localhost")
  ) {
    domain = parts.shift();
    if (!DOMAIN_RE.test(domain!))
      throw new InvalidReferenceError(ref, `invalid domain "${domain}"`);
  }
  const path = parts.join("/");
  if (path !== path.toLowerCase()) {
    throw new InvalidReferenceError(
      ref,
      `repository name (${path}) must be lowercase`,
    );
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT_RE.test(p))) {
    throw new InvalidReferenceError(ref, "invalid reference format");
  }
  let name: string;
  if (
    domain === undefined ||
    domain === "docker.io" ||
    domain === "index.docker.io"
  ) {
    name = path.startsWith("library/") && parts.length === 2 ? parts[1] : path;
  } else {
    name = `${domain}/${path}`;
  }
  const finalTag = tag ?? DEFAULT_TAG;
  return {
    name,
    tag: finalTag,
    ...(digest ? { digest } : {}),
    full: `${name}:${finalTag}`,
  };
}

/** `busybox` → `docker.io/library/busybox:latest` (what containerd-style annotations carry). */
export function fullyQualified(ref: Reference): string {
  const first = ref.name.split("/")[0];
  const hasDomain =
    ref.name.includes("/") &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasDomain) return ref.full;
  const path = ref.name.includes("/") ? ref.name : `library/${ref.name}`;
  return `docker.io/${path}:${ref.tag}`;
}
