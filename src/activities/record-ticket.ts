/**
 * ticket: a new ticket for a new conversation, or a comment on the thread's ticket. Both are
 * idempotent in the store (by the email's idempotency key, and by ticket + Message-ID), so a retried
 * activity or a reprocessed workflow never writes twice. Automated mail (auto-replies, bounces) that
 * threads onto a ticket becomes an internal note and never reopens it. A reply to a closed ticket
 * reopens it or opens a new ticket linked to it, per queue. Quarantined files get an internal note.
 * A human reply from someone who does not take part in the ticket (issue 12) opens a new ticket
 * linked to it, noted on both, or becomes an internal note (STRANGER_REPLY); it never comments
 * publicly and never reopens. The To and Cc parties of a message accepted onto a ticket become its
 * participants, so a colleague Cc'd by the customer may answer. When an operator reprocessed the
 * email with a queue (`move`), the ticket it lands on is moved to that queue (recorded in the ledger,
 * noted on the ticket) instead of gaining an extra queue (./move-ticket.ts). A helpdesk that keeps
 * header blocks for audit (ServiceNow) gets the email's own, read here from the raw message
 * (./audit-headers.ts); Mailgate's notes carry none.
 */
import { createHash } from 'node:crypto';
import type { ObjectStore } from '../adapters/object-store';
import { keptBackNote, linkableKey, oneTicketSeed, scanStatusOf, textCutNote, ticketAction, type AttachmentFacts } from '../domain/decisions';
import { domainOf } from '../domain/addresses';
import type { EmailDocument } from '../domain/email';
import type { Limits } from '../domain/limits';
import { mailboxOf } from '../domain/mailbox';
import { isStrangerReply, type StrangerReplyPolicy } from '../domain/participants';
import { redactText, type Redaction } from '../domain/redact';
import type { TicketPriority } from '../domain/vocabulary';
import type { AttachmentRecord, Helpdesk, NewComment } from '../ports/helpdesk';
import type { Ledger, ThreadMatch } from '../ports/ledger';
import type { ThreadMatchFound } from './find-thread';
import { redactionFor, type Rules } from '../rules';
import { metrics, secondsSince } from '../metrics';
import { PartNamer } from '../parsing/part-names';
import { rethrowAsFailure } from './failures';
import { loadDocument, type DocumentRef } from './parse-email';
import { moveTicket, type MoveTicketResult } from './move-ticket';
import { activityLog } from './log';
import { loadAuditHeaders } from './audit-headers';
import { indexSubject } from './thread-by-subject';

export interface RecordTicketInput extends DocumentRef {
  workflowId: string;
  idempotencyKey: string;
  queue: string;
  requester: string;
  subject: string;
  /** The email's Message-ID, or a synthetic one derived from the idempotency key. */
  messageId: string;
  /** True when the Message-ID is the email's own (not synthetic). */
  hasMessageId: boolean;
  /** The thread lookup's match, with its rule and whether the sender takes part in the ticket. */
  thread: ThreadMatchFound | null;
  /** Automated mail only adds internal notes to known tickets; it never opens or reopens one. */
  automated: boolean;
  /** Shown on an internal note: the class and why. */
  classLabel: string;
  priority: TicketPriority;
  tags: string[];
  /** One record per attachment: the parsed part, its scan verdict and its stored copy. */
  attachments: AttachmentFacts[];
  /** What the parse step redacted from text and html (the raw object keeps the original). */
  redactions?: Redaction[];
  /** When the ingress accepted the email (for the time-to-ticket histogram). */
  receivedAt?: string;
  /** Seconds spent waiting for an unseen parent: such a ticket is not timed against the SLO. */
  waitedSeconds?: number;
  /**
   * Set when a different message used this Message-ID first (issue 12, class 11): what tells this
   * message apart (its raw sha256). The store keys comments by ticket + Message-ID and a shared
   * one_ticket ticket by Message-ID, so without it this message's comment or ticket would be taken
   * for the other message's and silently dropped.
   */
  clashKey?: string;
  /**
   * Set when an operator put the email in `queue` on reprocess: the ticket it opens or lands on is
   * moved there when it is in another queue (issue 13), never merely given an extra queue.
   */
  move?: { by: string; runWorkflowId: string };
}

export interface RecordTicketResult {
  outcome: 'ticket_created' | 'comment_added' | 'note_added' | 'suppressed';
  ticketId: string | null;
  ticketNumber: number | null;
  /** True when this email opened the ticket (only then is it acknowledged). */
  ticketCreated: boolean;
  reopened: boolean;
  /** The closed ticket a new linked ticket follows up. */
  linkedTicketId: string | null;
  quarantined: { filename: string; signature: string }[];
  reason: string | null;
  /** What a limit cut from the ticket (the text past maxTextChars); absent in results recorded before it. */
  cut?: string[];
  /** The operator's queue moved the ticket (absent when nothing moved). */
  moved?: MoveTicketResult;
  /** What the ticket's note says about the message's form (signed, encrypted, unpacked parts). */
  notes?: string[];
}

function attachmentRecord(attachment: AttachmentFacts): AttachmentRecord {
  return {
    filename: attachment.filename,
    contentType: attachment.contentType,
    size: attachment.size,
    sha256: attachment.sha256,
    storageKey: linkableKey(attachment),
    scanStatus: scanStatusOf(attachment),
    // A clean verdict recorded before it named its engine still says it was scanned.
    scanDetail: attachment.scan?.detail ?? (attachment.scan ? attachment.scan.status : 'not scanned'),
    contentId: attachment.contentId,
    inline: attachment.inline,
  };
}

type Deps = {
  store: ObjectStore;
  helpdesk: Helpdesk;
  ledger: Ledger;
  limits: Limits;
  rules: Rules;
  inboundDomains?: string[];
  /** What a stranger's reply becomes (STRANGER_REPLY); default a new linked ticket. */
  strangerReply?: StrangerReplyPolicy;
};

function emptyResult(): RecordTicketResult {
  return { outcome: 'suppressed', ticketId: null, ticketNumber: null, ticketCreated: false, reopened: false, linkedTicketId: null, quarantined: [], reason: null };
}

/**
 * The email as a comment: its text (capped) and sanitized html; automated mail as an internal note.
 * `cut` says what the text cap removed, for the ticket's note and the email's state.
 */
async function commentFor(deps: Deps, input: RecordTicketInput): Promise<{ comment: NewComment; cut: string[]; document: EmailDocument }> {
  // The one read of the parsed document after parsing (from memory when the parse step ran here):
  // its text and html become the comment.
  const document = await loadDocument(deps, input);
  const text = document.text.slice(0, deps.limits.maxTextChars);
  const cut = textCutNote(document.text.length, deps.limits.maxTextChars);
  const comment: NewComment = {
    messageId: input.clashKey ? `${input.messageId}#${input.clashKey.slice(0, 16)}` : input.messageId,
    author: input.requester,
    text: input.automated ? `[${input.classLabel}]\n${text}` : text,
    html: document.html,
    // File names were redacted by the parse step; a run whose summary predates that is redacted here.
    attachments: input.attachments.map((a) => attachmentRecord({ ...a, filename: redactText(a.filename, { kinds: redactionFor(deps.rules, input.queue) }).text })),
    ...(input.automated ? { internal: true } : {}),
  };
  return { comment, cut: cut === null ? [] : [cut], document };
}

/**
 * The comment with its files named uniquely within the ticket: a name a file of another comment
 * already has is numbered (`image.png` → `image (2).png`), as within one email (parse step). The
 * comment's own earlier copy (a retried step) does not count, so a retry names the files the same.
 */
async function uniqueOnTicket(deps: Deps, ticketId: string, comment: NewComment): Promise<NewComment> {
  if (comment.attachments.length === 0) return comment;
  const others = (await deps.helpdesk.attachmentNames(ticketId)).filter((a) => a.messageId !== comment.messageId);
  if (others.length === 0) return comment;
  const namer = new PartNamer();
  for (const other of others) namer.reserve(other.filename);
  return { ...comment, attachments: comment.attachments.map((a) => ({ ...a, filename: namer.unique(a.filename) })) };
}

/**
 * The comment with the email's header block, when the helpdesk that gets it keeps one (a new ticket
 * of `queue`, or the existing `ticketId`); otherwise as it is, and the raw message is not read.
 */
async function withHeaders(deps: Deps, input: RecordTicketInput, comment: NewComment, where: { queue: string; ticketId: string | null }): Promise<NewComment> {
  if (!input.rawKey || comment.headers !== undefined || !(await deps.helpdesk.keepsHeaders?.(where))) return comment;
  const headers = await loadAuditHeaders(deps.store, input.rawKey, { kinds: redactionFor(deps.rules, input.queue) });
  return { ...comment, headers };
}

/** A stranger's reply kept as an internal note: labelled, so no agent mistakes it for the customer's. */
function strangerNote(comment: NewComment, input: RecordTicketInput): NewComment {
  const rule = input.thread?.rule ?? 'thread';
  return { ...comment, internal: true, text: `[not a participant: ${input.requester}, matched by ${rule}]\n${comment.text}` };
}

/**
 * The To and Cc parties of a message accepted onto a ticket (and its sender) take part in it from now
 * on; our own addresses never do (a forged From of ours must not become a participant).
 */
async function recordParticipants(deps: Deps, ticketId: string, input: RecordTicketInput, document: EmailDocument): Promise<void> {
  const own = new Set(deps.rules.queues.flatMap((q) => [q.address, ...q.aliases]).map(mailboxOf));
  const inbound = new Set(deps.inboundDomains ?? []);
  const addresses = [input.requester, ...document.to.map((m) => m.address), ...document.cc.map((m) => m.address)].filter(
    (a) => a && !own.has(mailboxOf(a)) && !inbound.has(domainOf(mailboxOf(a))),
  );
  if (addresses.length > 0) await deps.ledger.addParticipants({ ticketId, addresses });
}

/** The ledger's thread index learns the message, whichever helpdesk holds the ticket. */
function remember(ledger: Ledger, input: RecordTicketInput, ticketId: string, queue: string): Promise<void> {
  return ledger.indexMessageId({ messageId: input.messageId, ticketId, queue, kind: 'inbound' });
}

/** A new ticket (linked to a closed one, or not), unless the sender is past the new-ticket rate limit. */
async function openTicket(deps: Deps, input: RecordTicketInput, comment: NewComment, linkedTicketId: string | null, result: RecordTicketResult): Promise<void> {
  const limit = deps.rules.rateLimits.newTicketsPerSender;
  const now = Date.now();
  const count = await deps.ledger.countRateEvent({
    // The mailbox, not the spelling: `ann+1@` and `Ann@` share one budget (src/domain/mailbox.ts).
    key: `new-ticket:${mailboxOf(input.requester)}`,
    eventId: input.workflowId,
    at: new Date(now).toISOString(),
    windowStart: new Date(now - limit.windowSeconds * 1000).toISOString(),
  });
  if (count > limit.limit) {
    result.reason = `rate limit of ${limit.limit} new tickets per ${limit.windowSeconds} s from ${input.requester} reached`;
    return;
  }
  const seed = oneTicketSeed({
    multipleQueues: deps.rules.multipleQueues,
    messageId: input.clashKey ? `${input.messageId}|${input.clashKey}` : input.messageId,
    hasMessageId: input.hasMessageId,
  });
  // The parse step redacted the subject; a run whose summary predates that is redacted here.
  const subject = redactText(input.subject, { kinds: redactionFor(deps.rules, input.queue) }).text;
  comment = await withHeaders(deps, input, comment, { queue: input.queue, ticketId: null });
  const created = await deps.helpdesk.createTicket({
    originKey: seed === null ? input.idempotencyKey : createHash('sha256').update(seed).digest('hex'),
    subject: subject || '(no subject)',
    requester: input.requester,
    queue: input.queue,
    comment,
    priority: input.priority,
    tags: [...input.tags, ...(input.redactions ?? []).filter((r) => r.count > 0).map((r) => `redacted:${r.kind}`)].slice(0, 50),
    linkedTicketId,
  });
  if (created.ticket.queue !== input.queue) {
    if (input.move) result.moved = await moveTicket(deps, { ticketId: created.ticket.id, queue: input.queue, ...input.move });
    else await deps.helpdesk.noteQueue(created.ticket.id, input.queue);
  }
  await remember(deps.ledger, input, created.ticket.id, result.moved ? input.queue : created.ticket.queue);
  Object.assign(result, {
    outcome: 'ticket_created',
    ticketId: created.ticket.id,
    ticketNumber: created.ticket.number,
    // A redelivery of the same email is acknowledged again (the send is idempotent per workflow);
    // a second queue of a shared ticket is not; a ticket of this email's own key that the operator
    // moved is still this email's.
    ticketCreated: created.created || created.ticket.queue === input.queue || (seed === null && result.moved !== undefined),
    linkedTicketId,
  });
}

/** The old ticket says where a stranger's message went, so the link shows on both tickets. */
async function noteStrangerLink(deps: Deps, input: RecordTicketInput, oldTicketId: string, result: RecordTicketResult): Promise<void> {
  if (result.outcome !== 'ticket_created' || !result.ticketId) return;
  await deps.helpdesk.addComment(oldTicketId, {
    messageId: `stranger-link.${input.idempotencyKey}@mailgate.invalid`,
    author: 'mailgate',
    internal: true,
    text:
      `A message from ${input.requester}, who does not take part in this ticket, named it (${input.thread?.rule ?? 'thread'}). ` +
      `It was not added here; it opened ticket MG-${result.ticketNumber} (${result.ticketId}), linked to this one.`,
    html: null,
    attachments: [],
  });
}

/** Does what ticketAction decided for the message and its thread; returns the comment as stored. */
async function apply(deps: Deps, input: RecordTicketInput, comment: NewComment, result: RecordTicketResult): Promise<NewComment> {
  const thread = input.thread;
  const ticket = thread && !input.automated ? await deps.helpdesk.getTicket(thread.ticketId) : null;
  const closedReply = (ticket && deps.rules.queues.find((q) => q.address === ticket.queue)?.closedReply) || 'reopen';
  const stranger = thread !== null && !input.automated && isStrangerReply({ rule: thread.rule, participant: thread.participant, ticketStatus: ticket?.status ?? null });
  const strangerReply = deps.strangerReply ?? 'new_ticket';
  const action = ticketAction({ threaded: thread !== null, automated: input.automated, ticketStatus: ticket?.status ?? null, closedReply, stranger, strangerReply });
  const addTo = async (on: ThreadMatch, outcome: 'comment_added' | 'note_added', queue: string): Promise<void> => {
    comment = await withHeaders(deps, input, await uniqueOnTicket(deps, on.ticketId, comment), { queue: input.queue, ticketId: on.ticketId });
    await deps.helpdesk.addComment(on.ticketId, comment);
    await remember(deps.ledger, input, on.ticketId, queue);
    Object.assign(result, { outcome, ticketId: on.ticketId, ticketNumber: on.ticketNumber });
    if (input.move) {
      const moved = await moveTicket(deps, { ticketId: on.ticketId, queue: input.queue, ...input.move });
      if (moved.moved) result.moved = moved;
    }
  };
  if (action === 'suppress') result.reason = `${input.classLabel} that refers to no known ticket`;
  else if (action === 'open') await openTicket(deps, input, comment, null, result);
  else if (action === 'open_linked') {
    await openTicket(deps, input, comment, ticket?.id ?? thread!.ticketId, result);
    if (stranger) await noteStrangerLink(deps, input, thread!.ticketId, result);
  } else if (action === 'note' && stranger) {
    comment = await withHeaders(deps, input, await uniqueOnTicket(deps, thread!.ticketId, comment), { queue: input.queue, ticketId: thread!.ticketId });
    await deps.helpdesk.addComment(thread!.ticketId, strangerNote(comment, input));
    await remember(deps.ledger, input, thread!.ticketId, input.queue);
    Object.assign(result, { outcome: 'note_added', ticketId: thread!.ticketId, ticketNumber: thread!.ticketNumber });
  } else if (action === 'note') await addTo(thread!, 'note_added', input.queue);
  else {
    await addTo(thread!, 'comment_added', ticket?.queue ?? input.queue);
    if (action === 'reopen') {
      await deps.helpdesk.setStatus(thread!.ticketId, 'open');
      result.reopened = true;
    }
  }
  return comment;
}

export function createRecordTicket(deps: Deps) {
  return async function recordTicket(input: RecordTicketInput): Promise<RecordTicketResult> {
    const result = emptyResult();
    try {
      const made = await commentFor(deps, input);
      const { cut, document } = made;
      const comment = await apply(deps, input, made.comment, result);
      if (cut.length > 0) result.cut = cut;
      const notes = document.notes ?? [];
      if (notes.length > 0) result.notes = notes;
      // Only a message accepted as the conversation's (a new ticket, a public comment) brings parties.
      if (result.ticketId && (result.outcome === 'ticket_created' || result.outcome === 'comment_added')) {
        await recordParticipants(deps, result.ticketId, input, document);
        await indexSubject(deps.ledger, { ticketId: result.ticketId, subject: input.subject, at: input.receivedAt ?? new Date().toISOString() });
      }
      result.quarantined = comment.attachments
        .filter((a) => a.scanStatus === 'infected')
        .map((a) => ({ filename: a.filename, signature: a.scanDetail ?? 'unknown' }));
      // The ticket says what was kept back and why: quarantined files, and files stripped by the size
      // cap or the type policy. The email's other content stays on the ticket.
      // Then what the parse found about the message's form (signatures, encryption, containers).
      const removed = [...keptBackNote(input.attachments, input.redactions ?? []), ...cut, ...notes];
      if (result.ticketId && removed.length > 0) {
        await deps.helpdesk.addComment(result.ticketId, {
          messageId: `av-note.${input.idempotencyKey}@mailgate.invalid`,
          author: 'mailgate',
          internal: true,
          text: removed.join('\n'),
          html: null,
          attachments: [],
        });
      }
      activityLog().info(result.ticketId ? 'ticket recorded' : 'no ticket recorded', {
        outcome: result.outcome,
        ticketId: result.ticketId,
        ...(result.reason ? { reason: result.reason } : {}),
        ...(result.quarantined.length > 0 ? { quarantined: result.quarantined.length } : {}),
      });
      if (result.outcome === 'ticket_created' && result.ticketCreated) {
        metrics.ticketCreated(input.queue, input.receivedAt && !input.waitedSeconds ? secondsSince(input.receivedAt) : Number.NaN);
      }
      return result;
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
