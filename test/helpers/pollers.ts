/** What the poller tests share: a poller name of their own, and a customer's tickets through the API. */
import assert from 'node:assert/strict';
import type { RunningApp } from './app';
import { getJson } from './mail';
import { unique } from './stack';

/** A poller name unique to this run, in the form the pollers file accepts. */
export function pollerName(prefix: string): string {
  return unique(prefix).toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 60);
}

export async function ticketsOf(app: RunningApp, customer: string): Promise<number> {
  const { status, body } = await getJson<{ tickets: unknown[] }>(`${app.url}/v1/tickets?requester=${encodeURIComponent(customer)}`);
  assert.equal(status, 200);
  return body.tickets.length;
}
