/**
 * Hostile suite, issue 12 class 13 (retention and erasure), through the real pipeline: a worker and
 * API against the real S3 (a bucket of this suite's own, so a sweep a year ahead touches nothing
 * else), Temporal and the SQLite ledger. Emails are processed, one parks with the scanner down;
 * erasure of one requester is refused without admin auth, counted in a dry run, then done, leaving
 * another requester's data and an audit record; a retention sweep "a year later" empties the store
 * except for the parked email's objects.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3ObjectStore, type ObjectStore } from '../../src/adapters/object-store';
import { openTicketStore } from '../../src/adapters/ticket-store';
import { retentionScheduleId } from '../../src/retention-schedule';
import { retentionSweep } from '../../src/workflows';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch, compose, getJson, postMime } from '../helpers/mail';
import { settled, ticket, withTemporal, type EmailView } from '../helpers/pipeline';
import { config, eventually, ROOT, stack, unique } from '../helpers/stack';

const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const DAY_MS = 24 * 3600 * 1000;

interface Sent {
  raw: Buffer;
  rawSha256: string;
  messageId: string;
  workflowId: string;
}

describe('retention and erasure through the real pipeline', () => {
  const bucket = unique('ret').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 60);
  const domain = `${unique('erase')}.example`;
  const ann = `ann@${domain}`;
  const bob = `bob@${domain}`;
  const sharedFile = `shared file ${unique('f')}`;
  const annOnlyFile = `ann only ${unique('f')}`;
  let app: RunningApp;
  let objects: ObjectStore;
  const sent: Record<string, Sent> = {};
  let bobTicketId = '';
  let annTicketIds: string[] = [];

  const send = async (name: string, options: { from: string; subject: string; file?: string; inReplyTo?: string; cc?: string }): Promise<Sent> => {
    const messageId = `${unique(name)}@customer.example`;
    const raw = await compose({
      from: options.from,
      to: 'support@mailgate.local',
      ...(options.cc ? { cc: options.cc } : {}),
      subject: options.subject,
      text: `words of ${options.from}`,
      messageId: `<${messageId}>`,
      ...(options.inReplyTo ? { inReplyTo: `<${options.inReplyTo}>`, references: [`<${options.inReplyTo}>`] } : {}),
      ...(options.file ? { attachments: [{ filename: 'notes.txt', content: options.file }] } : {}),
    });
    const posted = await postMime(app.url, raw);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const one = { raw, rawSha256: sha(raw), messageId, workflowId: posted.body.emails![0]!.workflowId };
    sent[name] = one;
    return one;
  };
  const keysUnder = async (prefix: string): Promise<string[]> => (await objects.list({ prefix, limit: 1000 })).objects.map((o) => o.key);
  const objectsOf = async (s: Sent): Promise<string[]> => [
    ...((await objects.exists(`raw/${s.rawSha256}`)) ? [`raw/${s.rawSha256}`] : []),
    ...(await keysUnder(`parsed/${s.rawSha256}/`)),
    ...(await keysUnder(`parts/${s.rawSha256}/`)),
  ];
  const erase = (body: unknown, token: string | null = process.env.ADMIN_TOKEN ?? '') =>
    fetch(`${app.url}/v1/erasures`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });

  before(async () => {
    const s3 = new S3Client({
      region: config.s3.region,
      forcePathStyle: config.s3.forcePathStyle,
      credentials: { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey },
      ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
    objects = createS3ObjectStore({ ...config.s3, bucket });
    app = await startApp({ env: { S3_BUCKET: bucket, MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/parking.json') } });

    const annFirst = await send('ann-1', { from: ann, subject: 'Printer', file: sharedFile });
    const annSecond = await send('ann-2', { from: `Ann+Billing@${domain.toUpperCase()}`, subject: 'Invoice', file: annOnlyFile });
    // Bob copies Ann in, so her answer on his ticket is a participant's (issue 12, class 6).
    const bobFirst = await send('bob-1', { from: bob, cc: ann, subject: 'Laptop', file: sharedFile });
    const views: EmailView[] = [];
    for (const s of [annFirst, annSecond, bobFirst]) views.push(await settled(app.url, s.workflowId, 90_000));
    assert.deepEqual(views.map((v) => v.state?.outcome), ['ticket_created', 'ticket_created', 'ticket_created']);
    annTicketIds = views.slice(0, 2).map((v) => v.state!.ticketId!);
    bobTicketId = views[2]!.state!.ticketId!;
    // Ann answers on Bob's ticket (threaded by Message-ID): her comment on someone else's ticket.
    const reply = await send('ann-reply', { from: `ann+cc@${domain}`, subject: 'Re: Laptop', inReplyTo: bobFirst.messageId });
    const replied = await settled(app.url, reply.workflowId, 90_000);
    assert.equal(replied.state?.outcome, 'comment_added');
    assert.equal(replied.state?.ticketId, bobTicketId);
  });

  after(async () => {
    await stack('up', 'clamd');
    await app?.stop();
  });

  test('the worker ensures one retention schedule for its task queue, every RETENTION_INTERVAL_MINUTES, and a restart keeps it as it is', async () => {
    await withTemporal(async (client) => {
      const handle = client.schedule.getHandle(retentionScheduleId(app.taskQueue));
      const described = await handle.describe();
      assert.equal(described.spec.intervals?.[0]?.every, 60 * 60_000);
      assert.equal(described.action.type, 'startWorkflow');
      assert.equal(described.action.type === 'startWorkflow' ? described.action.workflowType : '', 'retentionSweep');
      assert.equal(described.action.type === 'startWorkflow' ? described.action.taskQueue : '', app.taskQueue);
      await app.rollWorker();
      const again = await handle.describe();
      assert.equal(again.spec.intervals?.length, 1);
      assert.equal(again.info.createdAt.getTime(), described.info.createdAt.getTime(), 'the schedule was not recreated');
    });
  });

  test('the erasure route refuses a request without the admin token or with a wrong one, and a malformed request', async () => {
    assert.equal((await erase({ address: ann, requestedBy: 'x' }, null)).status, 401);
    assert.equal((await erase({ address: ann, requestedBy: 'x' }, 'not-the-admin-token-at-all')).status, 401);
    assert.equal((await fetch(`${app.url}/v1/erasures/anything`)).status, 401);
    for (const body of [{ address: 'not an address', requestedBy: 'x' }, { address: ann }, { address: ann, requestedBy: 'x', dryRun: 'yes' }, { address: ann, requestedBy: 'x', requestId: '../../etc' }]) {
      assert.equal((await erase(body)).status, 400, JSON.stringify(body));
    }
    for (const s of Object.values(sent)) assert.ok((await objectsOf(s)).length > 0, 'nothing was erased by a refused request');
  });

  test('a dry run counts her data under any spelling, deletes nothing, and leaves a dry-run audit record', async () => {
    const response = await erase({ address: `ANN+x@${domain}`, requestedBy: 'dpo ticket 1 (dry run)', dryRun: true, wait: true, requestId: unique('dry') });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { id: string; dryRun: boolean; counts: Record<string, number>; audit: { dryRun: boolean; counts: Record<string, number> } };
    assert.equal(body.dryRun, true);
    assert.equal(body.counts['tickets'], 2);
    assert.equal(body.counts['commentsRedacted'], 1);
    assert.equal(body.counts['emailRecords'], 3);
    assert.equal(body.counts['rawObjects'], 3);
    assert.equal(body.counts['attachmentObjects'], 1, 'only her own file; the shared one stays for Bob');
    // Her two files as parsed parts; her emails are small, so no parsed document was stored (issue 15).
    assert.equal(body.counts['parsedObjects'], 2);
    assert.equal(body.audit.dryRun, true);
    for (const name of ['ann-1', 'ann-2', 'ann-reply']) assert.ok(await objects.exists(`raw/${sent[name]!.rawSha256}`), `${name} is still stored`);
    assert.equal((await getJson(`${app.url}/v1/tickets/${annTicketIds[0]}`)).status, 200);
  });

  test('erasing her deletes her raw messages, parsed documents, parts, own attachment, tickets and ledger rows; redacts her comment on Bob\'s ticket; keeps Bob\'s data and the shared file; audits without her address', async () => {
    const requestId = unique('erase');
    const response = await erase({ address: ann, requestedBy: 'dpo ticket 2', wait: true, requestId });
    assert.equal(response.status, 200);
    const text = await response.text();
    const body = JSON.parse(text) as { id: string; counts: Record<string, number>; audit: { requestedBy: string; subjectDigest: string; dryRun: boolean; counts: Record<string, number> } };
    assert.equal(body.counts['tickets'], 2);
    assert.equal(body.audit.requestedBy, 'dpo ticket 2');
    assert.equal(body.audit.dryRun, false);
    assert.match(body.audit.subjectDigest, /^[0-9a-f]{64}$/);
    assert.ok(!text.toLowerCase().includes('ann@') && !text.includes(domain), 'the answer and the audit name no address');

    for (const name of ['ann-1', 'ann-2', 'ann-reply']) assert.deepEqual(await objectsOf(sent[name]!), [], `${name}'s objects are gone from S3`);
    assert.equal(await objects.exists(`attachments/${sha(annOnlyFile)}`), false, 'her own file is gone');
    assert.equal(await objects.exists(`attachments/${sha(sharedFile)}`), true, 'the file Bob also sent stays');
    assert.ok((await objectsOf(sent['bob-1']!)).length >= 2, 'Bob\'s objects stay');
    for (const id of annTicketIds) assert.equal((await getJson(`${app.url}/v1/tickets/${id}`)).status, 404);

    const bobs = await ticket(app.url, bobTicketId);
    assert.equal(bobs.comments.length, 2);
    const bobsText = JSON.stringify(bobs).toLowerCase();
    for (const trace of ['ann@', 'ann+', sent['ann-reply']!.messageId.toLowerCase(), `words of ann`]) {
      assert.ok(!bobsText.includes(trace), `"${trace}" is left on Bob's ticket: ${bobsText}`);
    }
    assert.match(bobs.comments[1]!.text, /erased/);
    assert.ok(bobs.comments[0]!.attachments[0]!.link, 'Bob\'s attachment is still linked');

    const db = openTicketStore(app.env.DATABASE_URL!);
    try {
      for (const name of ['ann-1', 'ann-2', 'ann-reply']) assert.equal(await db.getEmail(sent[name]!.workflowId), null, `${name}'s email record is gone`);
      assert.ok(await db.getEmail(sent['bob-1']!.workflowId), 'Bob\'s email record stays');
      assert.equal(await db.peekRateEvents(`new-ticket:${ann}`, new Date(0).toISOString()), 0);
      assert.equal(await db.peekRateEvents(`new-ticket:${bob}`, new Date(0).toISOString()), 1);
      const audit = await db.getErasure(body.id);
      assert.equal(audit?.counts.tickets, 2);
    } finally {
      await db.close();
    }
    const status = await getJson<{ status: string; audit: { requestedBy: string } }>(`${app.url}/v1/erasures/${requestId}`);
    assert.equal(status.status, 200);
    assert.equal(status.body.status, 'completed');
    assert.equal(status.body.audit.requestedBy, 'dpo ticket 2');
  });

  test('the same request again is the same erasure, and a new request finds nothing left of her', async () => {
    const requestId = unique('twice');
    const first = (await (await erase({ address: ann, requestedBy: 'dpo', wait: true, requestId })).json()) as { id: string; counts: Record<string, number> };
    const again = (await (await erase({ address: ann, requestedBy: 'someone else', wait: true, requestId })).json()) as { id: string; counts: Record<string, number>; audit: { requestedBy: string } };
    assert.equal(again.id, first.id);
    assert.equal(again.audit.requestedBy, 'dpo');
    assert.ok(Object.values(first.counts).every((n) => n === 0), `nothing left: ${JSON.stringify(first.counts)}`);
  });

  test('the CLI erase command runs a dry run through the admin API and prints the counts', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'dist/src/cli/mailgate.js'), 'erase', bob, '--requested-by', 'cli test', '--dry-run'], {
      env: { ...process.env, MAILGATE_API_URL: app.url },
    });
    const printed = JSON.parse(stdout) as { dryRun: boolean; counts: Record<string, number> };
    assert.equal(printed.dryRun, true);
    assert.equal(printed.counts['tickets'], 1);
    assert.ok(await objects.exists(`raw/${sent['bob-1']!.rawSha256}`));
  });

  test('a retention sweep keeps everything young; a sweep a year ahead deletes raw, parsed, parts and attachment objects from S3 and email records from the database, but not the parked email\'s objects', async () => {
    await stack('down', 'clamd');
    let parked: Sent;
    try {
      parked = await send('carol-parked', { from: `carol@${domain}`, subject: 'Scanner down', file: `carol ${unique('f')}` });
      await eventually(
        'the email to park',
        async () => {
          const { body } = await getJson<EmailView>(`${app.url}/v1/emails/${parked.workflowId}`);
          return body.state?.outcome === 'parked' ? body : undefined;
        },
        90_000,
      );
    } finally {
      await stack('up', 'clamd');
    }
    const parkedObjects = await objectsOf(parked);
    assert.ok(parkedObjects.length >= 2, `the parked email has its raw message and parts: ${parkedObjects.join(', ')}`);

    await withTemporal(async (client) => {
      const today = await client.workflow.execute(retentionSweep, { taskQueue: app.taskQueue, workflowId: unique('retention-now'), args: [{}] });
      assert.equal(today.deleted, 0, 'nothing is older than its period today');
      assert.ok((today.kept['young'] ?? 0) > 0);

      const now = new Date(Date.now() + 400 * DAY_MS).toISOString();
      const later = await client.workflow.execute(retentionSweep, { taskQueue: app.taskQueue, workflowId: unique('retention-later'), args: [{ now, callsPerRun: 2 }] });
      // Raw messages, parts and attachments; small emails keep no parsed document to delete (issue 15).
      assert.ok(later.deleted >= 3, `deleted ${later.deleted}`);
      assert.ok((later.kept['in-flight'] ?? 0) >= 2, `kept in flight: ${JSON.stringify(later.kept)}`);
      assert.ok(later.emailRecords >= 1);
    });
    assert.deepEqual(await objectsOf(sent['bob-1']!), [], 'Bob\'s raw message, parsed document and parts are gone');
    assert.equal(await objects.exists(`attachments/${sha(sharedFile)}`), false);
    assert.deepEqual((await objectsOf(parked)).sort(), parkedObjects.sort(), 'the parked email keeps every object');
    const bobs = await ticket(app.url, bobTicketId);
    assert.equal(bobs.comments[0]!.attachments[0]!.link, null, 'the expired file is no longer linked');
    const db = openTicketStore(app.env.DATABASE_URL!);
    try {
      assert.equal(await db.getEmail(sent['bob-1']!.workflowId), null, 'the email record is purged');
    } finally {
      await db.close();
    }
    await apiFetch(`${app.url}/v1/emails/${parked.workflowId}/discard`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'test over' }) });
  });
});

test('refreshing a stored object makes it young again without changing its bytes; a missing key refreshes to false', async () => {
  const store = createS3ObjectStore(config.s3);
  const key = `stack-test/${unique('refresh')}`;
  await store.put({ key, body: 'reused bytes', contentType: 'text/plain' });
  const first = await store.modifiedAt(key);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  assert.equal(await store.refresh(key), true);
  const second = await store.modifiedAt(key);
  assert.ok(first && second && second.getTime() > first.getTime(), `${String(first)} → ${String(second)}`);
  assert.equal((await store.getBuffer(key)).toString(), 'reused bytes');
  assert.equal(await store.refresh(`stack-test/${unique('missing')}`), false);
  assert.equal(await store.modifiedAt(`stack-test/${unique('missing')}`), null);
});
