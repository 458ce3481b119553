/**
 * docker verbs Layerlab does not have (yet), each with a note that says what to do here instead. The
 * dispatcher prints the note where Docker's CLI would run the verb; a verb leaves this table when it is
 * implemented in commands.ts. Keys are top-level verbs and management groups (`network`), or
 * `<group> <verb>` for a missing verb of a group Layerlab has (`image pull`).
 */

const NO_NETWORK = 'this sandbox does not search or sign in registries';
const IMAGES_HERE = "'docker pull NAME' fetches an image by its exact name (when this page has a registry proxy); 'docker images' lists what is here.";

export const UNIMPLEMENTED_VERBS: Record<string, string> = {
  search: `${NO_NETWORK}, so Docker Hub cannot be searched. ${IMAGES_HERE}`,
  update: "remove the container and run a new one with the limits you want ('docker run -m 64m …').",
  events: "'docker ps -a' and 'docker images' show what changed.",
  compose: "run each container with 'docker run'.",
  buildx: "'docker build' here is BuildKit-style already.",
  context: 'there is one engine here, in your browser.',
  swarm: 'there is one engine here, in your browser: no cluster.',
  service: 'there is one engine here, in your browser: no cluster.',
  stack: 'there is one engine here, in your browser: no cluster.',
  node: 'there is one engine here, in your browser: no cluster.',
  secret: 'there is one engine here, in your browser: no cluster.',
  config: 'there is one engine here, in your browser: no cluster.',
  plugin: 'the engine here has no plugins.',
  trust: `${NO_NETWORK}, so there are no signatures to check.`,
  checkpoint: "'Back to the start of this step' in a lesson restores the whole VM instead.",
  init: 'write the Dockerfile in the editor.',
  'container update': "remove the container and run a new one with the limits you want ('docker run -m 64m …').",
  'system prune': "'docker container prune' and 'docker image prune' remove stopped containers and dangling images.",
  'system events': "'docker ps -a' and 'docker images' show what changed.",
};

/** The message for a verb in UNIMPLEMENTED_VERBS (`pull`, `image pull`), or undefined. */
export function unimplementedMessage(verb: string): string | undefined {
  const note = UNIMPLEMENTED_VERBS[verb];
  if (note === undefined) return undefined;
  return `docker: '${verb}' is a docker command that Layerlab does not have.\nLayerlab: ${note}\n`;
}
