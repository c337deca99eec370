/**
 * `mailgate deliver [-f SENDER] [--] RECIPIENT...`: the MTA pipe. Postfix's and Exim's pipe
 * transports and procmail hand it one message on stdin with the envelope on the command line; it
 * goes through the same accept path as every ingress (the signed HTTP ingress, POST
 * /v1/inbound/mime) and exits as sendmail-style delivery agents must (sysexits.h), so the MTA
 * neither loses nor bounces a message we could still take:
 *   0   accepted (202: stored and every workflow started, or a duplicate of an accepted delivery)
 *   75  EX_TEMPFAIL, the MTA keeps it and retries: 5xx, 429, 408, 401/403 (our secret does not
 *       match the API's: our configuration, never the sender's fault), a timeout, a refused or
 *       reset connection, missing configuration; a retry is always safe (duplicates are recognised)
 *   65  EX_DATAERR, the MTA bounces: the message itself is refused (400 not an email, 413 too large)
 *   77  EX_NOPERM, the MTA bounces: no recipient is ours (422)
 *   64  EX_USAGE: no recipient on the command line
 * One line on stderr says what happened; nothing on stdout unless accepted.
 */
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { signatureHeaders } from '../api/signing';
import { DEFAULT_LIMITS } from '../domain/limits';

export const EX_OK = 0;
export const EX_USAGE = 64;
export const EX_DATAERR = 65;
export const EX_TEMPFAIL = 75;
export const EX_NOPERM = 77;

export interface DeliverIo {
  stdin: Readable;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

const DEFAULT_TIMEOUT_SECONDS = 60;
// eslint-disable-next-line no-control-regex -- an envelope address with a control character would split a header
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The exit code for the API's answer (see the header). */
export function exitForStatus(status: number): number {
  if (status === 202) return EX_OK;
  if (status === 400 || status === 413 || status === 415) return EX_DATAERR;
  if (status === 422) return EX_NOPERM;
  return EX_TEMPFAIL;
}

/** stdin whole, or null past `max` bytes (read on to the end so the MTA's write does not fail). */
async function readAll(stream: Readable, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size <= max) chunks.push(buffer);
  }
  return size > max ? null : Buffer.concat(chunks);
}

function positive(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return value && Number.isSafeInteger(parsed) && parsed > 0 ? parsed : fallback;
}

export async function deliver(argv: string[], io: DeliverIo): Promise<number> {
  const fail = (code: number, message: string): number => {
    io.stderr(`mailgate deliver: ${message}\n`);
    return code;
  };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { from: { type: 'string', short: 'f' } } });
  } catch (error) {
    return fail(EX_USAGE, `${error instanceof Error ? error.message : String(error)}; usage: mailgate deliver [-f SENDER] [--] RECIPIENT...`);
  }
  const recipients = parsed.positionals.map((r) => r.trim()).filter(Boolean);
  const sender = (parsed.values.from ?? '').trim();
  if (recipients.length === 0) return fail(EX_USAGE, 'usage: mailgate deliver [-f SENDER] [--] RECIPIENT...');
  if ([sender, ...recipients].some((a) => CONTROL.test(a) || a.includes(','))) return fail(EX_USAGE, 'an envelope address contains a control character or a comma');

  const secret = (io.env.INGRESS_SECRETS ?? '').split(',')[0]?.trim() ?? '';
  // Our configuration, not the message: the MTA keeps the mail until it is fixed.
  if (secret.length < 16) return fail(EX_TEMPFAIL, 'INGRESS_SECRETS is not set here: the request cannot be signed; the MTA keeps the message');
  const base = io.env.MAILGATE_API_URL ?? `http://${io.env.API_HOST ?? '127.0.0.1'}:${io.env.API_PORT ?? '3000'}`;
  const maxBytes = positive(io.env.MAX_MESSAGE_BYTES, DEFAULT_LIMITS.maxMessageBytes);
  const timeoutSeconds = positive(io.env.MAILGATE_DELIVER_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS);

  let raw: Buffer | null;
  try {
    raw = await readAll(io.stdin, maxBytes);
  } catch (error) {
    return fail(EX_TEMPFAIL, `cannot read the message on stdin (${error instanceof Error ? error.message : String(error)}): retry later`);
  }
  if (raw === null) return fail(EX_DATAERR, `the message exceeds ${maxBytes} bytes`);

  let response: Response;
  try {
    response = await fetch(`${base}/v1/inbound/mime`, {
      method: 'POST',
      headers: {
        'content-type': 'message/rfc822',
        'x-envelope-to': recipients.join(', '),
        ...(sender ? { 'x-envelope-from': sender } : {}),
        ...signatureHeaders(secret, raw),
      },
      body: raw,
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
  } catch (error) {
    const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    return fail(EX_TEMPFAIL, `no answer from ${base} (${cause}): retry later`);
  }
  const text = await response.text().catch(() => '');
  const code = exitForStatus(response.status);
  if (code === EX_OK) {
    io.stdout(`${text}\n`);
    return EX_OK;
  }
  let reason = '';
  try {
    const body = JSON.parse(text) as { reason?: unknown };
    if (typeof body.reason === 'string') reason = `: ${body.reason.replace(/\s+/g, ' ').slice(0, 300)}`;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  if (code === EX_TEMPFAIL) {
    const why = response.status === 401 || response.status === 403 ? ' (INGRESS_SECRETS here does not match the API\'s)' : '';
    return fail(code, `answered ${response.status}${reason}${why}: retry later`);
  }
  return fail(code, `refused permanently with ${response.status}${reason}`);
}
