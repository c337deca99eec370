/**
 * Signed attachment links: what a ticket hands an agent, who has no admin token. A link names the
 * attachment and an expiry, and carries an HMAC-SHA256 over both with ATTACHMENT_LINK_SECRET:
 *   /v1/attachment-links/<id>?expires=<unix seconds>&signature=<hex>
 * Opening it needs no other credential; an expired or altered link is 403, and the link only ever
 * redirects to a presigned object-store URL of a clean, stored file. A quarantined, unscannable or
 * skipped attachment is never given a link, and a link to one (signed before anything changed) is
 * still refused. The signed text starts with a fixed label, so no other HMAC made with the same key
 * (were it shared by mistake) can pass as a link.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const ATTACHMENT_LINK_PATH = '/v1/attachment-links';

export interface AttachmentLinkSettings {
  /** HMAC key (never logged). */
  secret: string;
  /** How long a link handed out with a ticket stays valid. */
  ttlSeconds: number;
}

function signature(secret: string, id: string, expires: number): Buffer {
  return createHmac('sha256', secret).update(`mailgate-attachment-link.v1\n${id}\n${expires}`).digest();
}

/** A link to the attachment `id`, valid for the configured lifetime from `nowMs`. */
export function signedAttachmentLink(publicUrl: string, settings: AttachmentLinkSettings, id: string, nowMs = Date.now()): string {
  const expires = Math.floor(nowMs / 1000) + settings.ttlSeconds;
  const hex = signature(settings.secret, id, expires).toString('hex');
  return `${publicUrl}${ATTACHMENT_LINK_PATH}/${encodeURIComponent(id)}?expires=${expires}&signature=${hex}`;
}

export type LinkCheck = { ok: true } | { ok: false; reason: string };

/** Whether a request's expiry and signature are the ones Mailgate signed for `id`, and still valid. */
export function checkAttachmentLink(input: { secret: string; id: string; expires: unknown; signature: unknown; nowMs?: number }): LinkCheck {
  if (typeof input.expires !== 'string' || !/^\d{1,12}$/.test(input.expires)) return { ok: false, reason: 'the link has no valid expiry' };
  if (typeof input.signature !== 'string' || !/^[0-9a-f]{64}$/i.test(input.signature)) return { ok: false, reason: 'the link has no valid signature' };
  const expires = Number(input.expires);
  // The signature first: an altered expiry must read as tampering, not as "expired".
  if (!timingSafeEqual(signature(input.secret, input.id, expires), Buffer.from(input.signature, 'hex'))) {
    return { ok: false, reason: 'the link signature does not match' };
  }
  if (Math.floor((input.nowMs ?? Date.now()) / 1000) > expires) return { ok: false, reason: 'the link has expired; open the ticket again for a fresh one' };
  return { ok: true };
}
