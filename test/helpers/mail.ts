/** Builds real MIME messages with nodemailer's composer, and posts them to the ingress. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { authorizedFetch } from '../../src/api/signing';
import { ROOT } from './stack';

/** Signs ingress requests and sends the admin token, with the credentials the test apps run with. */
export const apiFetch = authorizedFetch({
  ingressSecret: (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '',
  adminToken: process.env.ADMIN_TOKEN ?? '',
});

export async function compose(options: Mail.Options): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

export function fixture(name: string, messageId?: string): Buffer {
  const raw = readFileSync(path.join(ROOT, 'test/fixtures/mail', name));
  if (!messageId) return raw;
  return Buffer.from(raw.toString('latin1').replace(/^Message-ID: <[^>]*>/im, `Message-ID: <${messageId}>`), 'latin1');
}

export interface InboundResponse {
  status: number;
  body: {
    emails?: { recipient: string; queue: string; workflowId: string; status: 'accepted' | 'duplicate'; messageIdClashWith?: string }[];
    refused?: { address: string; reason: string }[];
    error?: string;
    reason?: string;
  };
  retryAfter: string | null;
}

export async function postMime(baseUrl: string, raw: Buffer | string, headers: Record<string, string> = {}): Promise<InboundResponse> {
  const response = await apiFetch(`${baseUrl}/v1/inbound/mime`, {
    method: 'POST',
    headers: { 'content-type': 'message/rfc822', ...headers },
    body: typeof raw === 'string' ? raw : new Uint8Array(raw),
  });
  return {
    status: response.status,
    body: (await response.json()) as InboundResponse['body'],
    retryAfter: response.headers.get('retry-after'),
  };
}

export async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await apiFetch(url);
  return { status: response.status, body: (await response.json()) as T };
}
