/**
 * The web view's local users, one a line in the file WEB_USERS_FILE names:
 *   name:bcrypt-hash            an agent (works tickets)
 *   name:bcrypt-hash:operator   an operator (tickets, and parked emails, pipeline health)
 * `#` lines and blank lines are skipped. The hash comes from `mailgate hash-password`; a plain
 * password in the file is refused, not compared.
 */

export type WebRole = 'agent' | 'operator';

export interface WebUser {
  name: string;
  /** bcrypt ($2a$/$2b$/$2y$, cost in the hash). Never logged. */
  passwordHash: string;
  role: WebRole;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

export class WebUsersError extends Error {}

export function parseWebUsers(text: string): WebUser[] {
  const users: WebUser[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [name = '', hash = '', role = 'agent', ...rest] = line.split(':');
    const where = `line ${index + 1}`;
    if (!NAME.test(name)) throw new WebUsersError(`${where}: the user name must be 1-64 letters, digits or . _ @ + -`);
    if (!BCRYPT.test(hash)) throw new WebUsersError(`${where}: the password must be a bcrypt hash (mailgate hash-password)`);
    if ((role !== 'agent' && role !== 'operator') || rest.length > 0) throw new WebUsersError(`${where}: the role must be agent or operator`);
    if (users.some((u) => u.name.toLowerCase() === name.toLowerCase())) throw new WebUsersError(`${where}: the user ${name} is named twice`);
    users.push({ name, passwordHash: hash, role });
  });
  return users;
}
