/**
 * Outbound mail through nodemailer over SMTP. The caller supplies the Message-ID, so a retried send
 * carries the same id and the thread index can know it before the send happens.
 */
import nodemailer from 'nodemailer';
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

export function createSmtpMailer(config: Config['smtp']): Mailer {
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    // Local SMTP sinks offer STARTTLS with self-signed certificates; production relays are verified.
    tls: { rejectUnauthorized: config.host !== '127.0.0.1' && config.host !== 'localhost' },
  });
  const fail = (what: string, error: unknown): never => {
    const type = classifySmtpError(error);
    const detail = error instanceof Error ? error.message : String(error);
    throw new MailerError(type, `SMTP ${what} failed (${type}): ${detail}`, { cause: error });
  };
  return {
    async send(message) {
      try {
        const info = await transport.sendMail({
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
      }
    },
    async verify() {
      try {
        await transport.verify();
      } catch (error) {
        fail('verify', error);
      }
    },
  };
}
