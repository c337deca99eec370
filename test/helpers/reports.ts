/**
 * A delivery status notification (RFC 3464) as an MTA sends it back: a human part, the
 * message/delivery-status part and the returned original (its headers, or the whole message).
 * No side effects, so the benchmarks can use it too.
 */
export interface DeliveryReportOptions {
  /** The address that bounced. */
  recipient: string;
  /** Message-ID of the returned original (without brackets). */
  original: string;
  /** RFC 3463 status, e.g. 5.1.1 (hard) or 4.2.2 (soft). */
  status: string;
  /** RFC 3464 Action: failed, delayed. */
  action: string;
  /** Return the whole original (message/rfc822) instead of its headers (text/rfc822-headers). */
  asMessage: boolean;
  /** Unique part of the report's own Message-ID and boundary. */
  id: string;
  /** Our address the report is sent back to. */
  to?: string;
  /** The report's own In-Reply-To and References (some MTAs point at the returned message so). */
  inReplyTo?: string;
  /** Leave the returned original out: the report's references are then its only pointer. */
  withoutOriginal?: boolean;
}

export function deliveryReport(options: DeliveryReportOptions): string {
  const to = options.to ?? 'support@mailgate.local';
  const b = `b-${options.id}`;
  const code = options.status.startsWith('5') ? 550 : 452;
  const original = [`From: Support <${to}>`, `To: ${options.recipient}`, `Message-ID: <${options.original}>`, 'Subject: [MG-1] your ticket', '', 'body'];
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>',
    `To: ${to}`,
    'Subject: Undelivered Mail Returned to Sender',
    `Message-ID: <${options.id}@mx.customer.example>`,
    ...(options.inReplyTo ? [`In-Reply-To: <${options.inReplyTo}>`, `References: <${options.inReplyTo}>`] : []),
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain',
    '',
    'The mail could not be delivered.',
    `--${b}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.customer.example',
    '',
    `Final-Recipient: rfc822; ${options.recipient}`,
    `Action: ${options.action}`,
    `Status: ${options.status}`,
    `Diagnostic-Code: smtp; ${code} ${options.status} mailbox problem`,
    '',
    ...(options.withoutOriginal
      ? []
      : [`--${b}`, `Content-Type: ${options.asMessage ? 'message/rfc822' : 'text/rfc822-headers'}`, '', ...(options.asMessage ? original : original.slice(0, 4)), '']),
    `--${b}--`,
    '',
  ].join('\r\n');
}
