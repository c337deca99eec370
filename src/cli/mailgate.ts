/**
 * The operator CLI, a thin client of the admin API (needs ADMIN_TOKEN, API_HOST, API_PORT or
 * MAILGATE_API_URL in the environment; scripts/mailgate sets them from the config files):
 *   mailgate emails list [--status parked]
 *   mailgate emails show <workflow-id>
 *   mailgate emails reprocess <workflow-id> [--queue ADDRESS] [--skip-ack] [--force-new-ticket] [--by NAME]
 *   mailgate emails discard <workflow-id> --reason TEXT [--by NAME]
 *   mailgate undeliverable list [--limit N]
 *   mailgate undeliverable clear <address>
 *   mailgate erase <address> --requested-by NAME [--dry-run] [--request-id ID]
 *   mailgate deliver [-f SENDER] [--] RECIPIENT...   (the MTA pipe, ./deliver.ts; exits by sysexits)
 *   mailgate web-user <name> [--operator]    (password on standard input; prints a WEB_USERS_FILE line)
 *   mailgate pollers start   (straight through Temporal, with the worker's configuration)
 * Exit code 0 on success, 1 on an API refusal (printed), 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import bcrypt from 'bcryptjs';
import { deliver, EX_TEMPFAIL } from './deliver';
import { startConfiguredPollers } from './pollers';
import { parseWebUsers } from '../domain/web-users';

const USAGE = `usage:
  mailgate emails list [--status parked|failed|ticket_created|...] [--limit N]
  mailgate emails show <workflow-id>
  mailgate emails reprocess <workflow-id> [--queue ADDRESS] [--skip-ack] [--force-new-ticket] [--by NAME]
    parked: retries the failed step with the options; finished: a new run keyed by the original
    --queue             the retried step and all after it use ADDRESS; an existing ticket moves there
    --skip-ack          no acknowledgement is sent (also when parked at acknowledging)
    --force-new-ticket  a ticket of its own instead of the thread's (refused once it opened one)
  mailgate emails discard <workflow-id> --reason TEXT [--by NAME]
    parked: ends the email with the reason; once it opened its ticket, the ticket stays and only the
    acknowledgement is given up
  mailgate undeliverable list [--limit N]
  mailgate undeliverable clear <address>
  mailgate erase <address> --requested-by NAME [--dry-run] [--request-id ID]
    erases one requester's raw messages, parsed documents, attachments, tickets and ledger rows
    (every spelling of the mailbox); --dry-run only counts; both leave an audit record
  mailgate deliver [-f SENDER] [--] RECIPIENT...
    the MTA pipe: one message on stdin into the signed ingress (needs INGRESS_SECRETS); exits 0
    accepted, 75 retry later, 65 or 77 refused for good, 64 usage

  mailgate web-user <name> [--operator] < password-file
    reads the password from standard input (never an argument: it would show in the process list)
    and prints the line for WEB_USERS_FILE: name, bcrypt hash and role (agent, or operator)

  mailgate pollers start
    starts one poller per mailbox and provider API in MAILGATE_POLLERS_FILE (running ones are kept)
`;

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const base = process.env.MAILGATE_API_URL ?? `http://${process.env.API_HOST ?? '127.0.0.1'}:${process.env.API_PORT ?? '3000'}`;
  const token = process.env.ADMIN_TOKEN;
  if (!token) throw new Error('ADMIN_TOKEN is not set');
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json().catch(() => null) };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      status: { type: 'string', default: 'parked' },
      limit: { type: 'string', default: '100' },
      queue: { type: 'string' },
      'skip-ack': { type: 'boolean', default: false },
      'force-new-ticket': { type: 'boolean', default: false },
      reason: { type: 'string' },
      by: { type: 'string' },
      'requested-by': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'request-id': { type: 'string' },
      operator: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const [noun, verb, id] = positionals;
  if (!values.help && noun === 'web-user' && verb) return webUser(verb, values.operator);
  if (!values.help && noun === 'undeliverable' && verb) return undeliverable(verb, id, values.limit);
  if (!values.help && noun === 'pollers' && verb === 'start') return startConfiguredPollers(out);
  if (!values.help && noun === 'erase') {
    if (!verb || !values['requested-by']) return (out(USAGE), 2);
    const erased = await call('POST', '/v1/erasures', {
      address: verb,
      requestedBy: values['requested-by'],
      dryRun: values['dry-run'],
      wait: true,
      ...(values['request-id'] ? { requestId: values['request-id'] } : {}),
    });
    out(JSON.stringify(erased.json, null, 2));
    return erased.status >= 200 && erased.status < 300 ? 0 : 1;
  }
  if (values.help || noun !== 'emails' || !verb) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  let result: { status: number; json: unknown };
  switch (verb) {
    case 'list': {
      result = await call('GET', `/v1/emails?status=${encodeURIComponent(values.status)}&limit=${encodeURIComponent(values.limit)}`);
      if (result.status === 200) {
        const { emails } = result.json as { emails: Record<string, unknown>[] };
        for (const e of emails) {
          out([e.workflowId, e.runStatus, e.EmailStatus, e.ParkedStep ?? '-', e.ErrorType ?? '-', e.RecipientQueue ?? '-', e.startTime].join('\t'));
        }
        out(`${emails.length} email(s) with status ${values.status}`);
        return 0;
      }
      break;
    }
    case 'show':
      if (!id) return (out(USAGE), 2);
      result = await call('GET', `/v1/emails/${id}`);
      break;
    case 'reprocess':
      if (!id) return (out(USAGE), 2);
      result = await call('POST', `/v1/emails/${id}/reprocess`, {
        ...(values.queue ? { queue: values.queue } : {}),
        ...(values['skip-ack'] ? { skipAck: true } : {}),
        ...(values['force-new-ticket'] ? { forceNewTicket: true } : {}),
        ...(values.by ? { by: values.by } : {}),
      });
      break;
    case 'discard':
      if (!id || !values.reason) return (out(USAGE), 2);
      result = await call('POST', `/v1/emails/${id}/discard`, { reason: values.reason, ...(values.by ? { by: values.by } : {}) });
      break;
    default:
      out(USAGE);
      return 2;
  }
  out(JSON.stringify(result.json, null, 2));
  return result.status >= 200 && result.status < 300 ? 0 : 1;
}

/** bcrypt cost: about 50-100 ms a check on a small server; the hash records it, so it can rise later. */
const BCRYPT_COST = 12;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A WEB_USERS_FILE line for `name`, the password read from standard input (its first line). */
async function webUser(name: string, operator: boolean): Promise<number> {
  const password = (await readStdin()).split(/\r?\n/)[0] ?? '';
  // bcrypt reads at most 72 bytes: a longer password would be silently cut.
  if (password.length < 12 || Buffer.byteLength(password) > 72) {
    process.stderr.write('mailgate: the password must be 12 to 72 bytes long\n');
    return 2;
  }
  const line = `${name}:${await bcrypt.hash(password, BCRYPT_COST)}${operator ? ':operator' : ''}`;
  parseWebUsers(line);
  out(line);
  return 0;
}

/** Hard-bounce marks: list those in force, or lift one. */
async function undeliverable(verb: string, address: string | undefined, limit: string): Promise<number> {
  let result: { status: number; json: unknown };
  if (verb === 'list') {
    result = await call('GET', `/v1/undeliverable?limit=${encodeURIComponent(limit)}`);
    if (result.status === 200) {
      const { marks } = result.json as { marks: { address: string; reason: string; since: string; expires: string }[] };
      for (const m of marks) out([m.address, m.since, m.expires, m.reason].join('\t'));
      out(`${marks.length} undeliverable mark(s) in force`);
      return 0;
    }
  } else if (verb === 'clear' && address) {
    result = await call('DELETE', `/v1/undeliverable/${encodeURIComponent(address)}`);
  } else {
    out(USAGE);
    return 2;
  }
  out(JSON.stringify(result.json, null, 2));
  return result.status >= 200 && result.status < 300 ? 0 : 1;
}

if (require.main === module && process.argv[2] === 'deliver') {
  // An MTA reads only the exit code: anything unexpected is a temporary failure, never a bounce.
  deliver(process.argv.slice(3), { stdin: process.stdin, stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`mailgate deliver: ${error instanceof Error ? error.message : String(error)}: retry later\n`);
      process.exit(EX_TEMPFAIL);
    },
  );
} else if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`mailgate: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}

export { main };
