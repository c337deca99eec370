/**
 * Reading delivery status notifications (RFC 3464): the per-recipient blocks of a
 * message/delivery-status part, and the headers of the returned original message (message/rfc822 or
 * text/rfc822-headers), whose Message-ID lets a bounce thread onto the mail it returns.
 */
import type { DeliveryStatus, EmbeddedMessage } from '../domain/email';
import { normalizeMessageId } from '../domain/message-id';

/** Header-style fields (RFC 3464 §2.1), groups separated by blank lines; folded lines unfolded. */
function fieldGroups(text: string): Map<string, string>[] {
  const groups: Map<string, string>[] = [];
  for (const block of text.replace(/\r\n/g, '\n').split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | null = null;
    for (const line of block.split('\n')) {
      if (/^[ \t]/.test(line) && last) {
        fields.set(last, `${fields.get(last) ?? ''} ${line.trim()}`);
        continue;
      }
      const match = /^([A-Za-z0-9-]+)\s*:\s*(.*)$/.exec(line);
      if (!match?.[1]) continue;
      last = match[1].toLowerCase();
      if (!fields.has(last)) fields.set(last, (match[2] ?? '').trim());
    }
    if (fields.size > 0) groups.push(fields);
  }
  return groups;
}

/** "rfc822; user@example.org" → "user@example.org" */
function addressField(value: string | undefined): string | null {
  if (!value) return null;
  const address = value.includes(';') ? value.slice(value.indexOf(';') + 1) : value;
  const clean = address.trim().replace(/^<|>$/g, '').toLowerCase();
  return clean || null;
}

export function parseDeliveryStatus(text: string): DeliveryStatus[] {
  const out: DeliveryStatus[] = [];
  // The first group is per-message (Reporting-MTA …); the rest are per-recipient.
  for (const fields of fieldGroups(text)) {
    if (!fields.has('action') && !fields.has('status') && !fields.has('final-recipient')) continue;
    const status = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(fields.get('status') ?? '')?.[1] ?? null;
    out.push({
      action: fields.get('action')?.toLowerCase() ?? null,
      status,
      finalRecipient: addressField(fields.get('final-recipient') ?? fields.get('original-recipient')),
      diagnosticCode: fields.get('diagnostic-code')?.slice(0, 500) ?? null,
    });
  }
  return out;
}

/** The returned original's headers: only its header block is read. */
export function parseEmbeddedHeaders(text: string): EmbeddedMessage {
  const head = text.replace(/\r\n/g, '\n').split(/\n\n/)[0] ?? '';
  const fields = fieldGroups(head)[0] ?? new Map<string, string>();
  const from = fields.get('from') ?? null;
  return {
    messageId: normalizeMessageId(fields.get('message-id')),
    from: from ? (/<([^<>@\s]+@[^<>\s]+)>/.exec(from)?.[1] ?? from.trim()).toLowerCase() : null,
    subject: fields.get('subject') ?? null,
  };
}
