/**
 * The acknowledgement is sent once even when the database fails right after the SMTP send: the
 * activity records the send with Temporal, and its retry marks it sent without sending again. Real
 * Temporal dev server, real SMTP server (MailDev), real SQLite store; only the one failing database
 * call is injected, since a database cannot be made to fail at exactly that moment otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createSmtpMailer } from '../../src/adapters/mailer';
import { openTicketStore, TicketStoreUnavailableError } from '../../src/adapters/ticket-store';
import type { TicketStore } from '../../src/adapters/ticket-store/types';
import { createSendAcknowledgement } from '../../src/activities/send-acknowledgement';
import { receivedMail } from '../helpers/maildev';
import { config, eventually, unique } from '../helpers/stack';

test('a database failure after the SMTP send: the retry marks the acknowledgement sent and does not send it again', async () => {
  const tickets = openTicketStore(`sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'mailgate-ack-')), 'tickets.sqlite')}`);
  await tickets.migrate();
  const id = unique('ack-retry');
  const requester = `${id}@customer.example`;
  const { ticket } = await tickets.createTicket({
    originKey: id,
    subject: 'Printer on fire',
    requester,
    queue: 'support@mailgate.local',
    comment: { messageId: `${id}@customer.example`, author: requester, text: 'It burns.', html: null, attachments: [] },
  });
  let markCalls = 0;
  const markSent = async (workflowId: string): Promise<void> => {
    markCalls += 1;
    if (markCalls === 1) throw new TicketStoreUnavailableError('the database went away', { cause: new Error('ECONNRESET') });
    return tickets.markAcknowledgementSent(workflowId);
  };
  const failingOnce = new Proxy(tickets, {
    get(target, property) {
      if (property === 'markAcknowledgementSent') return markSent;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as TicketStore;
  const sendAcknowledgement = createSendAcknowledgement({
    mailer: createSmtpMailer(config.smtp),
    tickets: failingOnce,
    ackFrom: config.ackFrom,
    rules: config.rules,
    signingKey: config.signingKey,
    inboundDomains: config.inboundDomains,
  });

  const taskQueue = unique('ack-probe');
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: require.resolve('../workflows/acknowledge-probe'),
      activities: { sendAcknowledgement },
    });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const workflowId = unique('inbound-email/ack-probe');
    const result = await worker.runUntil(
      client.workflow.execute('acknowledgeProbe', {
        taskQueue,
        workflowId,
        args: [
          {
            workflowId,
            ticketId: ticket.id,
            ticketNumber: ticket.number,
            queue: 'support@mailgate.local',
            to: requester,
            subject: 'Printer on fire',
            originalMessageId: `${id}@customer.example`,
            references: [],
          },
        ],
      }),
    );
    assert.equal(result.sent, true);
    assert.equal(markCalls, 2, 'the first attempt failed at the database, the retry marked it sent');
    // Give a second send, if there were one, time to arrive before counting.
    await new Promise((r) => setTimeout(r, 1_000));
    const mail = await eventually('the acknowledgement', async () => {
      const found = (await receivedMail()).filter((m) => m.to.some((t) => t.address === requester));
      return found.length > 0 ? found : undefined;
    });
    assert.equal(mail.length, 1, 'sent exactly once');
    const again = await tickets.reserveAcknowledgement({ workflowId, ticketId: ticket.id, messageId: 'x@y', recipient: requester });
    assert.equal(again.state, 'sent', 'the store records it as sent');
  } finally {
    await connection.close();
    await nativeConnection.close();
    await tickets.close();
  }
});
