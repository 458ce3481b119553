/** One-line, learner-facing labels for checks ("image `app` has 3 layers"), shown before they run. */
import type { Check } from './schema.ts';

const c = (s: string | number) => `\`${s}\``;

export function describeCheck(check: Check): string {
  if (check.want && check.kind !== 'layers') return cap(check.want);
  switch (check.kind) {
    case 'image-exists':
      return check.sameIdAs ? `${c(check.image)} is the same image as ${c(check.sameIdAs)}` : check.notSameIdAs ? `${c(check.image)} is a different image from ${c(check.notSameIdAs)}` : `image ${c(check.image)} exists`;
    case 'image-absent':
      return `image ${c(check.image)} is removed`;
    case 'layers': {
      const n = check.count !== undefined ? `${check.count} layers` : check.min !== undefined && check.max !== undefined ? `${check.min}–${check.max} layers` : check.min !== undefined ? `at least ${check.min} layers` : check.max !== undefined ? `at most ${check.max} layers` : '';
      const w = (check.where ?? []).map((x) => (x.createdBy ? `layer ${x.layer} made by ${x.createdBy}` : x.sharedWith ? `layer ${x.layer} shared with ${c(x.sharedWith.image)}` : `layer ${x.layer} sized right`));
      return `image ${c(check.image)} has ${[n, ...w].filter(Boolean).join(', ')}`;
    }
    case 'layer-has-file':
      return `${check.change === 'D' ? 'a whiteout for ' : ''}${c(check.path)} in ${check.layer === undefined ? 'a layer' : `layer ${check.layer}`} of ${c(check.image)}`;
    case 'layer-lacks-file':
      return `no ${c(check.path)} in ${check.layer === undefined ? 'any layer' : `layer ${check.layer}`} of ${c(check.image)}`;
    case 'config':
      return `${check.field} of ${c(check.image)} ${check.equals !== undefined ? `is ${c(JSON.stringify(check.equals))}` : check.contains ? `contains ${c(check.contains)}` : check.notContains ? `has no ${c(check.notContains)}` : check.absent ? 'is not set' : 'is set'}`;
    case 'container': {
      const who = check.name ? `container ${c(check.name)}` : `containers of ${c(check.image!)}`;
      if (check.count === 0 && check.name) return `${who} is removed`;
      const parts = [
        check.count !== undefined && !check.name ? `${check.count}${check.state ? ` ${check.state}` : ''} ${who}` : `${who}${check.state ? ` is ${check.state}` : ''}`,
        check.exitCode !== undefined ? `exit code ${check.exitCode}` : '',
        check.writableEntries !== undefined ? `${check.writableEntries} entries in its writable layer` : '',
        check.sizeRwMax !== undefined ? 'a small writable layer' : '',
      ];
      return parts.filter(Boolean).join(', ');
    }
    case 'writable-has':
      return `${check.change ? `${check.change} ` : ''}${c(check.path)} in the writable layer of ${c(check.container)}`;
    case 'writable-lacks':
      return `no ${c(check.path)} in the writable layer of ${c(check.container)}`;
    case 'volume-exists':
      return `volume ${c(check.name)}${check.hasFile ? ` holds ${c(check.hasFile)}` : ' exists'}`;
    case 'build-cached':
      return check.all ? `every step of the last build is CACHED` : `the last build${check.image ? ` of ${c(check.image)}` : ''} used the cache as wanted`;
    case 'command':
      return `${c(check.argv.join(' '))} in the VM${check.exit ? ` exits ${check.exit}` : ''}${check.stdout ? ` prints ${check.stdout}` : ''}`;
    case 'container-command':
      return `${c(check.argv.join(' '))} in ${c(check.container)}${check.sameAs ? ' matches the VM' : check.notSameAs ? ' differs from the VM' : check.stdout ? ` prints ${check.stdout}` : check.exit ? ` exits ${check.exit}` : ' works'}`;
  }
}

function cap(s: string) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
