/**
 * Outbound mail through nodemailer over SMTP. The caller supplies the Message-ID, so a retried send
 * carries the same id and the thread index can know it before the send happens.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type { Config } from '../config';
import { TypedError } from '../domain/errors';
import { classifySmtpError } from './smtp-errors';

export interface OutboundMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** An HTML alternative to the text. */
  html?: string;
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  headers?: Record<string, string>;
}

export interface Mailer {
  send(message: OutboundMessage): Promise<{ accepted: string[]; response: string }>;
  verify(): Promise<void>;
}

export class MailerError extends TypedError {}

/** A pool nobody sent through for this long is closed, so an idle worker (or a test) holds no socket. */
const POOL_IDLE_MS = 2_000;

export function createSmtpMailer(config: Config['smtp']): Mailer {
  const options = {
    // One connection reused for many acknowledgements instead of a connect, greeting and TLS
    // handshake per message; a connection the server closed is replaced on the next send.
    pool: true as const,
    maxConnections: 4,
    maxMessages: 500,
    host: config.host,
    port: config.port,
    secure: config.secure,
    ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    // Local SMTP sinks offer STARTTLS with self-signed certificates; production relays are verified.
    tls: { rejectUnauthorized: config.host !== '127.0.0.1' && config.host !== 'localhost' },
  };
  let pool: Transporter<SMTPPool.SentMessageInfo> | null = null;
  let sending = 0;
  let idle: NodeJS.Timeout | undefined;
  const transport = () => {
    clearTimeout(idle);
    pool ??= nodemailer.createTransport(options);
    return pool;
  };
  const done = () => {
    sending -= 1;
    if (sending > 0) return;
    idle = setTimeout(() => {
      pool?.close();
      pool = null;
    }, POOL_IDLE_MS);
    idle.unref();
  };
  const fail = (what: string, error: unknown): never => {
    const type = classifySmtpError(error);
    const detail = error instanceof Error ? error.message : String(error);
    throw new MailerError(type, `SMTP ${what} failed (${type}): ${detail}`, { cause: error });
  };
  return {
    async send(message) {
      sending += 1;
      try {
        const info = await transport().sendMail({
          from: message.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html ? { html: message.html } : {}),
          messageId: message.messageId,
          ...(message.inReplyTo ? { inReplyTo: message.inReplyTo } : {}),
          ...(message.references?.length ? { references: message.references } : {}),
          headers: message.headers ?? {},
        });
        return { accepted: (info.accepted ?? []).map(String), response: String(info.response ?? '') };
      } catch (error) {
        return fail('send', error);
      } finally {
        done();
      }
    },
    async verify() {
      try {
        await nodemailer.createTransport({ ...options, pool: false }).verify();
      } catch (error) {
        fail('verify', error);
      }
    },
  };
}
