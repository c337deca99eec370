/**
 * Issue 12, class 1 ("a scanner's OK is not clean when the scanner stopped early") and class 9
 * ("every limit leaves a trace"), through the real pipeline with the real clamd and object store.
 *
 * For each clamd limit a file just over it carries the EICAR test string where clamd, stopped at
 * the limit, does not see it; the same file just under the limit is found infected, which proves the
 * signature is visible and only the limit hides it. Each over-the-limit file must end "unscannable":
 * not linked, noted on the ticket, and quarantined or deleted by UNSCANNABLE_ATTACHMENTS, checked in
 * the object store. Then attachments cut by a per-email limit (count, size) are recorded as skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createClamdScanner } from '../../src/adapters/clamd';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { startApp, type RunningApp } from '../helpers/app';
import { peExecutable, zipArchive } from '../helpers/files';
import { apiFetch, compose, postMime } from '../helpers/mail';
import { settled, ticket, type EmailView, type TicketView } from '../helpers/pipeline';
import { eicar } from '../helpers/samples';
import { clamdSetting, encryptedZip, filesOf, memberOf, nestedOf, SCAN_LIMITS, scanSizeOf } from '../helpers/scan-limits';
import { DEFAULT_LIMITS } from '../../src/domain/limits';
import { config, ROOT, unique } from '../helpers/stack';

const MiB = 1024 * 1024;
const scanner = createClamdScanner({ ...config.clamd, timeoutMs: 120_000 });
const store = createS3ObjectStore(config.s3);
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface LimitCase {
  name: string;
  /** Just over the limit: the signature sits where clamd stopped. */
  over: (id: string) => Buffer;
  /** The same shape just under it: clamd must find the signature. */
  under: (id: string) => Buffer;
  /** The heuristic clamd 1.4 answers for `over`. */
  heuristic: RegExp;
}

const LIMITS: LimitCase[] = [
  {
    // MaxFileSize sits above MaxScanSize (clamd.conf.in says why), so a member that large stops at MaxScanSize.
    name: 'MaxFileSize: a zip member one byte over it, the signature in its last bytes',
    over: (id) => memberOf(SCAN_LIMITS.maxFileSize + 1, id),
    under: (id) => memberOf(MiB, id),
    heuristic: /Heuristics\.Limits\.Exceeded\.Max(File|Scan)Size/,
  },
  {
    name: 'MaxScanSize: members unpacking to the limit, then the signature in one more',
    over: (id) => scanSizeOf(SCAN_LIMITS.maxScanSize, id),
    under: (id) => scanSizeOf(SCAN_LIMITS.maxScanSize - MiB, id),
    heuristic: /Heuristics\.Limits\.Exceeded\.MaxScanSize/,
  },
  {
    name: 'MaxRecursion: the signature in a zip nested as deep as the limit',
    over: (id) => nestedOf(SCAN_LIMITS.maxRecursion, id),
    under: (id) => nestedOf(SCAN_LIMITS.maxRecursion - 1, id),
    heuristic: /Heuristics\.Limits\.Exceeded\.MaxRecursion/,
  },
  {
    name: 'MaxFiles: the signature as the member after the limit',
    over: (id) => filesOf(SCAN_LIMITS.maxFiles, id),
    under: (id) => filesOf(SCAN_LIMITS.maxFiles - 1, id),
    heuristic: /Heuristics\.Limits\.Exceeded\.MaxFiles/,
  },
];

const UNREADABLE: { name: string; file: (id: string) => Buffer; heuristic: RegExp }[] = [
  { name: 'an encrypted zip with the signature inside', file: encryptedZip, heuristic: /Heuristics\.Encrypted\.Zip/ },
  {
    name: 'that encrypted zip inside an ordinary zip',
    file: (id) => zipArchive([{ name: 'readme.txt', content: Buffer.from('see inner.zip') }, { name: 'inner.zip', content: encryptedZip(id) }]),
    heuristic: /Heuristics\.Encrypted\.Zip/,
  },
  { name: 'that encrypted zip gzipped', file: (id) => gzipSync(encryptedZip(id)), heuristic: /Heuristics\.Encrypted\.Zip/ },
  { name: 'an executable clamd cannot parse', file: (id) => Buffer.concat([peExecutable(), Buffer.from(id)]), heuristic: /Heuristics\.Broken\.Executable/ },
];

describe('the limits in the clamd template are the ones the tests cross', () => {
  test('StreamMaxLength, MaxScanSize, MaxFileSize, MaxRecursion and MaxFiles match SCAN_LIMITS, MaxFileSize above MaxScanSize, every alert on', () => {
    const template = readFileSync(path.join(ROOT, 'config/clamav/clamd.conf.in'), 'utf8');
    assert.equal(clamdSetting(template, 'StreamMaxLength'), SCAN_LIMITS.streamMaxLength);
    assert.equal(clamdSetting(template, 'MaxScanSize'), SCAN_LIMITS.maxScanSize);
    assert.equal(clamdSetting(template, 'MaxFileSize'), SCAN_LIMITS.maxFileSize);
    assert.equal(clamdSetting(template, 'MaxRecursion'), SCAN_LIMITS.maxRecursion);
    assert.equal(clamdSetting(template, 'MaxFiles'), SCAN_LIMITS.maxFiles);
    assert.ok(SCAN_LIMITS.maxFileSize > SCAN_LIMITS.maxScanSize);
    for (const alert of ['AlertExceedsMax', 'AlertEncrypted', 'AlertBrokenExecutables']) assert.match(template, new RegExp(`^${alert} yes$`, 'm'));
  });
});

describe('the real clamd, file by file', () => {
  for (const limit of LIMITS) {
    test(`${limit.name}: just under it the signature is found, just over it the answer is unscannable`, async () => {
      const under = await scanner.scan(Readable.from([limit.under(unique('under'))]));
      assert.equal(under.status, 'infected', `the signature is visible under the limit: ${JSON.stringify(under)}`);
      const over = await scanner.scan(Readable.from([limit.over(unique('over'))]));
      assert.equal(over.status, 'unscannable', JSON.stringify(over));
      assert.match(over.status === 'unscannable' ? over.reason : '', limit.heuristic);
    });
  }
  for (const file of UNREADABLE) {
    test(`${file.name} is unscannable`, async () => {
      const verdict = await scanner.scan(Readable.from([file.file(unique('unreadable'))]));
      assert.equal(verdict.status, 'unscannable', JSON.stringify(verdict));
      assert.match(verdict.status === 'unscannable' ? verdict.reason : '', file.heuristic);
    });
  }
  test('a stream one byte over StreamMaxLength is unscannable (clamd refuses it), not clean', async () => {
    const chunk = Buffer.alloc(MiB);
    const chunks = [...Array.from({ length: SCAN_LIMITS.streamMaxLength / MiB }, () => chunk), eicar()];
    const verdict = await scanner.scan(Readable.from(chunks));
    assert.equal(verdict.status, 'unscannable', JSON.stringify(verdict));
    assert.match(verdict.status === 'unscannable' ? verdict.reason : '', /size limit exceeded/);
  });
});

interface Sent {
  view: EmailView;
  ticket: TicketView;
  rawSha256: string;
}

async function sendFiles(app: RunningApp, files: { filename: string; content: Buffer; contentType?: string }[]): Promise<Sent> {
  const id = unique('scan');
  const raw = await compose({
    from: `${id}@customer.example`,
    to: 'support@mailgate.local',
    subject: `Files ${id}`,
    messageId: `<${id}@c.example>`,
    text: 'Files attached.',
    attachments: [{ filename: 'notes.txt', content: `harmless notes ${id}` }, ...files],
  });
  const posted = await postMime(app.url, raw);
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  const view = await settled(app.url, posted.body.emails![0]!.workflowId, 180_000);
  assert.equal(view.state?.outcome, 'ticket_created');
  return { view, ticket: await ticket(app.url, view.state!.ticketId!), rawSha256: sha256(raw) };
}

/** The file is in the email's state and on the ticket with this status, unlinked, and named in the note. */
async function assertKeptBack(app: RunningApp, sent: Sent, filename: string, status: 'unscannable' | 'skipped', reason: RegExp): Promise<void> {
  const state = sent.view.state!.attachments.find((a) => a.filename === filename);
  assert.equal(state?.status, status, `email state: ${JSON.stringify(sent.view.state?.attachments)}`);
  assert.match(state?.detail ?? '', reason);
  const files = sent.ticket.comments[0]!.attachments;
  const onTicket = files.find((f) => f.filename === filename);
  assert.equal(onTicket?.scanStatus, status);
  assert.equal(onTicket?.link, null, `${filename} is never linked`);
  assert.match(onTicket?.scanDetail ?? '', reason);
  const direct = await apiFetch(`${app.url}/v1/attachments/${onTicket!.id}`, { redirect: 'manual' });
  assert.equal(direct.status, 410);
  assert.ok(files.find((f) => f.filename === 'notes.txt')?.link, 'the clean file beside it is still linked');
  const note = sent.ticket.comments.find((c) => c.internal)?.text ?? '';
  assert.ok(note.includes(`"${filename}"`), `the note names ${filename}: ${note}`);
  assert.match(note, reason);
}

describe('through the pipeline, UNSCANNABLE_ATTACHMENTS=quarantine (the default)', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { UNSCANNABLE_ATTACHMENTS: 'quarantine' } });
  });
  after(async () => {
    await app?.stop();
  });

  for (const limit of [...LIMITS.map((l) => ({ name: l.name, file: l.over, heuristic: l.heuristic })), ...UNREADABLE]) {
    test(`${limit.name}: unscannable, not linked, noted on the ticket, kept under quarantine/`, async () => {
      const content = limit.file(unique('q'));
      const sent = await sendFiles(app, [{ filename: 'suspect.zip', content, contentType: 'application/zip' }]);
      await assertKeptBack(app, sent, 'suspect.zip', 'unscannable', limit.heuristic);
      assert.equal(await store.exists(`quarantine/${sha256(content)}`), true, 'an operator finds it in quarantine');
      assert.equal(await store.exists(`attachments/${sha256(content)}`), false, 'no linkable copy exists');
    });
  }
});

describe('through the pipeline, UNSCANNABLE_ATTACHMENTS=strip', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { UNSCANNABLE_ATTACHMENTS: 'strip' } });
  });
  after(async () => {
    await app?.stop();
  });

  for (const file of [{ name: LIMITS[2]!.name, file: LIMITS[2]!.over, heuristic: LIMITS[2]!.heuristic }, ...UNREADABLE]) {
    test(`${file.name}: unscannable, not linked, noted, and deleted from the object store`, async () => {
      const content = file.file(unique('s'));
      const sent = await sendFiles(app, [{ filename: 'suspect.zip', content, contentType: 'application/zip' }]);
      await assertKeptBack(app, sent, 'suspect.zip', 'unscannable', file.heuristic);
      assert.match(sent.view.state!.attachments.find((a) => a.filename === 'suspect.zip')?.detail ?? '', /deleted \(UNSCANNABLE_ATTACHMENTS=strip\)/);
      // notes.txt is part 0, the suspect file part 1.
      assert.equal(await store.exists(`parts/${sent.rawSha256}/1`), false, 'the stored part is gone');
      assert.equal(await store.exists(`quarantine/${sha256(content)}`), false, 'and nothing was quarantined');
      assert.equal(await store.exists(`attachments/${sha256(content)}`), false, 'and no linkable copy exists');
      assert.equal(await store.exists(`parts/${sent.rawSha256}/0`), true, 'the clean part is untouched');
    });
  }
});

describe('every per-email limit leaves a trace (class 9)', () => {
  const maxAttachments = 3;
  const maxAttachmentBytes = 2 * MiB;
  const maxMimeParts = 12;
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { MAX_ATTACHMENTS: String(maxAttachments), MAX_ATTACHMENT_BYTES: String(maxAttachmentBytes), MAX_MIME_PARTS: String(maxMimeParts) } });
  });
  after(async () => {
    await app?.stop();
  });

  for (const extra of [1, 3]) {
    test(`${extra} attachment(s) past the count limit are listed as skipped, noted, never scanned or linked`, async () => {
      // notes.txt and two more fill the limit; the ones after it carry the test signature, which a
      // scan would report as infected: "skipped" proves they were never scanned.
      const within = [1, 2].map((i) => ({ filename: `within-${i}.txt`, content: Buffer.from(`file ${i}`) }));
      const past = Array.from({ length: extra }, (_, i) => ({ filename: `past-${i + 1}.com`, content: Buffer.concat([Buffer.from(`${i} `), eicar()]) }));
      const sent = await sendFiles(app, [...within, ...past]);
      assert.equal(sent.view.state!.attachments.length, maxAttachments + extra, 'every attachment is in the email state');
      assert.equal(sent.ticket.comments[0]!.attachments.length, maxAttachments + extra, 'and on the ticket');
      for (const file of past) {
        await assertKeptBack(app, sent, file.filename, 'skipped', new RegExp(`over the limit of ${maxAttachments} attachments per email`));
        assert.equal(sent.view.state!.attachments.find((a) => a.filename === file.filename)?.size, file.content.length, 'measured, though not kept');
      }
      for (const file of within) assert.ok(sent.ticket.comments[0]!.attachments.find((f) => f.filename === file.filename)?.link);
      assert.equal(await store.exists(`parts/${sent.rawSha256}/${maxAttachments}`), false, 'a part past the count is never stored');
    });
  }

  test('an attachment one byte over the size limit is listed as skipped with the limit, noted, never linked', async () => {
    const sent = await sendFiles(app, [{ filename: 'big.bin', content: Buffer.concat([Buffer.alloc(maxAttachmentBytes + 1 - eicar().length, 0x61), eicar()]) }]);
    await assertKeptBack(app, sent, 'big.bin', 'skipped', new RegExp(`larger than the ${maxAttachmentBytes}-byte attachment limit`));
  });

  test('text past the text limit is cut on the ticket with a note saying so, and the email state says so too', async () => {
    const maxTextChars = DEFAULT_LIMITS.maxTextChars;
    const id = unique('long');
    const raw = await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `Long ${id}`, messageId: `<${id}@c.example>`, text: `${'a'.repeat(maxTextChars)}TAIL-${id}` });
    const view = await settled(app.url, (await postMime(app.url, raw)).body.emails![0]!.workflowId);
    const t = await ticket(app.url, view.state!.ticketId!);
    const comment = t.comments.find((c) => !c.internal)!;
    assert.equal(comment.text.length, maxTextChars);
    assert.ok(!comment.text.includes('TAIL'), 'the text past the limit is not on the ticket');
    const note = t.comments.find((c) => c.internal)?.text ?? '';
    const total = Number(new RegExp(`cut to the first ${maxTextChars} of its (\\d+) characters`).exec(note)?.[1]);
    assert.ok(total > maxTextChars, `the note gives both lengths: ${note}`);
    assert.ok(view.state?.reasons.some((r) => r.includes(`cut to the first ${maxTextChars}`)), JSON.stringify(view.state?.reasons));
  });

  test('a message with more MIME parts than the limit is rejected as a whole, with the reason in its state', async () => {
    const id = unique('parts');
    const raw = await compose({
      from: `${id}@customer.example`,
      to: 'support@mailgate.local',
      subject: `Parts ${id}`,
      messageId: `<${id}@c.example>`,
      text: 'many parts',
      attachments: Array.from({ length: maxMimeParts + 1 }, (_, i) => ({ filename: `p${i}.txt`, content: `part ${i}` })),
    });
    const view = await settled(app.url, (await postMime(app.url, raw)).body.emails![0]!.workflowId);
    assert.equal(view.state?.outcome, 'rejected');
    assert.equal(view.state?.ticketId, null);
    assert.ok(view.state?.reasons.some((r) => /cannot be parsed as MIME/.test(r)), JSON.stringify(view.state?.reasons));
  });
});
