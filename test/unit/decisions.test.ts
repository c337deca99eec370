import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acknowledgementRefusal,
  discardEnding,
  forceNewTicketRefusal,
  isAutomated,
  keptBackNote,
  linkableKey,
  oneTicketSeed,
  recordedOutcome,
  scanStatusOf,
  suppressAfterThreading,
  suppressBeforeThreading,
  ticketAction,
  type AttachmentFacts,
} from '../../src/domain/decisions';
import type { EmailClass, TicketStatus } from '../../src/domain/vocabulary';

const CLASSES: EmailClass[] = ['human', 'auto_reply', 'auto_generated', 'bounce', 'own_loop'];

function attachment(over: Partial<AttachmentFacts> = {}): AttachmentFacts {
  return {
    index: 0,
    filename: 'report.pdf',
    contentType: 'application/pdf',
    size: 1234,
    sha256: 'a'.repeat(64),
    contentId: null,
    inline: false,
    partKey: 'parts/x/0',
    skippedReason: null,
    scan: null,
    storageKey: null,
    ...over,
  };
}

describe('suppression', () => {
  test('own loop is dropped before threading, whatever the allowlist says', () => {
    assert.match(suppressBeforeThreading({ emailClass: 'own_loop', allowlisted: true }) ?? '', /own loop/);
    for (const emailClass of CLASSES.filter((c) => c !== 'own_loop')) {
      assert.equal(suppressBeforeThreading({ emailClass, allowlisted: false }), null, emailClass);
    }
  });
  test('automated mail with no thread is suppressed with its class in the reason; with a thread it is not', () => {
    for (const emailClass of ['auto_reply', 'auto_generated', 'bounce'] as const) {
      assert.equal(suppressAfterThreading({ emailClass, allowlisted: false }, false), `${emailClass} that refers to no known ticket`);
      assert.equal(suppressAfterThreading({ emailClass, allowlisted: false }, true), null);
    }
  });
  test('human mail and allowlisted automated mail are never suppressed for lack of a thread', () => {
    assert.equal(suppressAfterThreading({ emailClass: 'human', allowlisted: false }, false), null);
    assert.equal(suppressAfterThreading({ emailClass: 'auto_generated', allowlisted: true }, false), null);
    assert.equal(isAutomated({ emailClass: 'auto_generated', allowlisted: true }), false);
    assert.equal(isAutomated({ emailClass: 'bounce', allowlisted: false }), true);
    assert.equal(isAutomated({ emailClass: 'human', allowlisted: false }), false);
  });
});

describe('ticket action (closed-ticket policy)', () => {
  const statuses: (TicketStatus | null)[] = ['open', 'pending', 'closed', null];
  test('no thread: human mail opens a ticket, automated mail opens nothing', () => {
    assert.equal(ticketAction({ threaded: false, automated: false, ticketStatus: null, closedReply: 'reopen' }), 'open');
    assert.equal(ticketAction({ threaded: false, automated: true, ticketStatus: null, closedReply: 'new_linked' }), 'suppress');
  });
  test('automated mail on a thread is an internal note, and never reopens a closed ticket', () => {
    for (const ticketStatus of statuses) {
      for (const closedReply of ['reopen', 'new_linked'] as const) {
        assert.equal(ticketAction({ threaded: true, automated: true, ticketStatus, closedReply }), 'note');
      }
    }
  });
  test('a human reply comments on an open or pending ticket', () => {
    for (const ticketStatus of ['open', 'pending', null] as const) {
      assert.equal(ticketAction({ threaded: true, automated: false, ticketStatus, closedReply: 'new_linked' }), 'comment');
    }
  });
  test('a human reply to a closed ticket follows the queue policy', () => {
    assert.equal(ticketAction({ threaded: true, automated: false, ticketStatus: 'closed', closedReply: 'reopen' }), 'reopen');
    assert.equal(ticketAction({ threaded: true, automated: false, ticketStatus: 'closed', closedReply: 'new_linked' }), 'open_linked');
  });
});

describe('acknowledge or not', () => {
  const yes = { emailClass: 'human' as const, requester: 'ann@customer.example', ticketCreated: true, skipAck: false };
  test('human mail that opened its ticket is acknowledged', () => {
    assert.equal(acknowledgementRefusal(yes), null);
  });
  test('every refusal says why', () => {
    assert.equal(acknowledgementRefusal({ ...yes, emailClass: 'auto_generated' }), 'not acknowledged: only human mail is (class auto_generated)');
    assert.equal(acknowledgementRefusal({ ...yes, requester: null }), 'not acknowledged: the email has no sender address');
    assert.equal(acknowledgementRefusal({ ...yes, ticketCreated: false }), 'not acknowledged: the ticket was opened through another queue');
    assert.equal(acknowledgementRefusal({ ...yes, skipAck: true }), 'not acknowledged: skipped on reprocess');
    assert.equal(acknowledgementRefusal({ ...yes, skipAck: true, skippedBy: 'ann via admin api' }), 'not acknowledged: skipped on reprocess by ann via admin api');
  });
  test('human mail the classifier suspects of being a robot opens its ticket but is not acknowledged', () => {
    assert.match(acknowledgementRefusal({ ...yes, suspectedAutomated: true }) ?? '', /reads like a challenge or another helpdesk's acknowledgement/);
    assert.equal(acknowledgementRefusal({ ...yes, suspectedAutomated: false }), null);
  });
  test('the class is checked first: allowlisted automated mail that opened a ticket is still not acknowledged', () => {
    assert.match(acknowledgementRefusal({ ...yes, emailClass: 'bounce', requester: null, skipAck: true }) ?? '', /only human mail/);
  });
});

describe('operator decisions once a ticket exists (issue 13)', () => {
  test('force-new-ticket is refused for an email that opened a ticket of its own, and allowed before', () => {
    assert.equal(forceNewTicketRefusal({ ownTicket: null }), null);
    assert.match(forceNewTicketRefusal({ ownTicket: { id: 't_1', number: 12 } }) ?? '', /^the email already opened ticket MG-12 \(t_1\) of its own/);
    assert.match(forceNewTicketRefusal({ ownTicket: { id: 't_1', number: null } }) ?? '', /already opened ticket t_1 of its own/);
  });
  test('a discard before the ticket ends the email as discarded; after it, the email keeps ticket_created and gives up the acknowledgement', () => {
    const base = { step: 'scanning', by: 'ops', reason: 'sent twice', ticketCreated: false, acknowledgementSent: false };
    assert.deepEqual(discardEnding(base), { outcome: 'discarded', reason: 'discarded by ops while parked at scanning: sent twice' });
    assert.deepEqual(discardEnding({ ...base, step: 'acknowledging', ticketCreated: true }), { outcome: 'ticket_created', reason: 'acknowledgement discarded by ops: sent twice' });
    assert.deepEqual(discardEnding({ ...base, step: 'acknowledging', ticketCreated: true, acknowledgementSent: true }), {
      outcome: 'ticket_created',
      reason: 'acknowledgement sent, its ledger mark discarded by ops: sent twice',
    });
  });
});

describe('one-ticket key', () => {
  test('one_ticket with a real Message-ID: one seed for every queue', () => {
    assert.equal(oneTicketSeed({ multipleQueues: 'one_ticket', messageId: 'm@x.org', hasMessageId: true }), 'one-ticket|m@x.org');
  });
  test('per queue, or a synthetic Message-ID: no shared seed', () => {
    assert.equal(oneTicketSeed({ multipleQueues: 'ticket_per_queue', messageId: 'm@x.org', hasMessageId: true }), null);
    assert.equal(oneTicketSeed({ multipleQueues: 'one_ticket', messageId: 'k@mailgate.invalid', hasMessageId: false }), null);
  });
});

describe('recorded outcome', () => {
  test('unfinished ends as failed, discarded as rejected, the rest as they are', () => {
    assert.equal(recordedOutcome('pending'), 'failed');
    assert.equal(recordedOutcome('parked'), 'failed');
    assert.equal(recordedOutcome('discarded'), 'rejected');
    for (const outcome of ['ticket_created', 'comment_added', 'note_added', 'suppressed', 'rejected', 'failed'] as const) {
      assert.equal(recordedOutcome(outcome), outcome);
    }
  });
});

describe('attachment facts', () => {
  test('only a clean file with a stored copy is linkable; an unscanned one is skipped', () => {
    assert.equal(linkableKey(attachment({ scan: { status: 'clean', detail: null }, storageKey: 'attachments/a' })), 'attachments/a');
    assert.equal(linkableKey(attachment({ scan: { status: 'infected', detail: 'Eicar' }, storageKey: 'attachments/a' })), null);
    assert.equal(linkableKey(attachment({ scan: { status: 'clean', detail: null }, storageKey: null })), null);
    assert.equal(scanStatusOf(attachment()), 'skipped');
    assert.equal(linkableKey(attachment({ storageKey: 'attachments/a' })), null);
  });
  test('the kept-back note names quarantined, removed and redacted content, and is empty when nothing was', () => {
    assert.deepEqual(keptBackNote([attachment({ scan: { status: 'clean', detail: null }, storageKey: 'attachments/a' })], []), []);
    const lines = keptBackNote(
      [
        attachment({ filename: 'virus.exe', scan: { status: 'infected', detail: 'Win.Test.EICAR_HDB-1' } }),
        attachment({ filename: 'huge.iso', scan: { status: 'skipped', detail: 'over the 25 MB cap' } }),
        attachment({ filename: 'never.bin' }),
      ],
      [
        { kind: 'card', count: 2 },
        { kind: 'iban', count: 0 },
      ],
    );
    assert.deepEqual(lines, [
      'Attachment "virus.exe" was quarantined: the virus scanner found Win.Test.EICAR_HDB-1. It is not linked.',
      'Attachment "huge.iso" was removed: over the 25 MB cap.',
      'Attachment "never.bin" was removed: not scanned.',
      'Redacted before this ticket was written: 2 × card. The original is kept only in the raw message.',
    ]);
  });
});
