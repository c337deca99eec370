/**
 * The bare shape as a workflow (bench/bare-shape.ts): each step of the shape done with nothing
 * behind it, so its cost is the engine's and the SDK's alone. Workflow code: deterministic.
 */
import { proxyActivities, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { EmailClassKey, EmailStatusKey, RecipientQueueKey, TicketIdKey } from '../src/workflows/search-attributes';
import type { ShapeStep } from './bare-shape';

interface BareActivities {
  nothing(): Promise<void>;
}

const { nothing: remote } = proxyActivities<BareActivities>({ startToCloseTimeout: '1 minute' });
const { nothing: local } = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '30 seconds' });

export async function bareEmailShape(shape: ShapeStep[]): Promise<number> {
  for (const step of shape) await (step === 'local' ? local() : remote());
  return shape.length;
}

/**
 * The bare shape plus what an email's run asks of the engine for the operators' list: the search
 * attributes Mailgate's run writes (once before its activity waits, once at the end), with values of
 * the same size. Started with the email's start attributes, it tells how much of Mailgate's engine
 * cost is that list, not the steps.
 */
export async function bareEmailShapeListed(shape: ShapeStep[]): Promise<number> {
  for (const step of shape) {
    if (step === 'activity') {
      upsertSearchAttributes([
        { key: EmailClassKey, value: 'human' },
        { key: EmailStatusKey, value: 'acknowledging' },
        { key: RecipientQueueKey, value: 'support@mailgate.local' },
        { key: TicketIdKey, value: 't_0e600de422d18cd51077a9fd' },
      ]);
    }
    await (step === 'local' ? local() : remote());
  }
  upsertSearchAttributes([{ key: EmailStatusKey, value: 'ticket_created' }]);
  return shape.length;
}
