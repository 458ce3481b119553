/** `USER` / `--chown` values to numeric ids, reading the image's /etc/passwd and /etc/group as Docker does. */
export class UserLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserLookupError';
  }
}

function findId(file: string | undefined, name: string): number | undefined {
  for (const line of (file ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 3) return Number(fields[2]);
  }
  return undefined;
}

function primaryGid(passwd: string | undefined, uid: number): number | undefined {
  for (const line of (passwd ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 4 && Number(fields[2]) === uid) return Number(fields[3]);
  }
  return undefined;
}

/**
 * Resolves `user[:group]` against the given passwd/group texts. Numeric parts need no lookup; a name
 * missing from the image is an error, as in Docker ("unable to find user app: no matching entries").
 */
export function resolveUser(spec: string, files: { passwd?: string; group?: string }): { uid: number; gid: number } {
  const [user, group] = spec.split(':', 2);
  let uid: number;
  if (!user || user === 'root') uid = 0;
  else if (/^\d+$/.test(user)) uid = Number(user);
  else {
    const found = findId(files.passwd, user);
    if (found === undefined) throw new UserLookupError(`unable to find user ${user}: no matching entries in passwd file`);
    uid = found;
  }
  let gid: number;
  if (group === undefined || group === '') gid = primaryGid(files.passwd, uid) ?? (uid === 0 ? 0 : uid);
  else if (/^\d+$/.test(group)) gid = Number(group);
  else {
    const found = findId(files.group, group);
    if (found === undefined) throw new UserLookupError(`unable to find group ${group}: no matching entries in group file`);
    gid = found;
  }
  return { uid, gid };
}
