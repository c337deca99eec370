/**
 * Issue 12, classes 1 and 9, without services: every clamd reply that means "stopped early" is an
 * unscannable verdict, an answer before the whole file went out is never clean, the activities turn
 * unscannable files into quarantine or deletion by the policy, and attachments past the per-email
 * count are recorded as skipped instead of vanishing. The same paths run against the real clamd and
 * object store in test/integration/trust-scan-limits.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createClamdScanner, parseScanReply, type Scanner, type ScanVerdict } from '../../src/adapters/clamd';
import type { ObjectStore } from '../../src/adapters/object-store';
import { createScanAttachments, engineOf } from '../../src/activities/scan-attachments';
import { createStoreAttachments } from '../../src/activities/store-attachments';
import { loadConfig } from '../../src/config';
import { DEFAULT_ATTACHMENT_POLICY } from '../../src/domain/attachment-policy';
import { keptBackNote, linkableKey, textCutNote, type AttachmentFacts } from '../../src/domain/decisions';
import { DEFAULT_LIMITS } from '../../src/domain/limits';
import { parseMime } from '../../src/parsing/parse-mime';
import { MINIMAL_ENV } from '../helpers/env';

/** Every name clamd 1.4 uses for "did not look at all of it" (limits, encryption, broken formats). */
const STOPPED_EARLY = [
  'Heuristics.Limits.Exceeded.MaxFileSize',
  'Heuristics.Limits.Exceeded.MaxScanSize',
  'Heuristics.Limits.Exceeded.MaxRecursion',
  'Heuristics.Limits.Exceeded.MaxFiles',
  'Heuristics.Limits.Exceeded.MaxScanTime',
  'Heuristics.Limits.Exceeded.MailMaterialization',
  'Heuristics.Limits.Exceeded.MaxRecHWP3',
  'Heuristics.Limits.Exceeded',
  'Heuristics.Encrypted.Zip',
  'Heuristics.Encrypted.RAR',
  'Heuristics.Encrypted.7Zip',
  'Heuristics.Encrypted.PDF',
  'Heuristics.Encrypted.Doc',
  'Heuristics.Encrypted',
  'Heuristics.Broken.Executable',
  'Heuristics.Broken.Media.JPEG',
  'Heuristics.Broken.Media.PNG',
];

describe('clamd replies that mean the scan stopped early', () => {
  for (const name of STOPPED_EARLY) {
    test(`"${name} FOUND" is unscannable, naming the heuristic, never clean or infected`, () => {
      const verdict = parseScanReply(`stream: ${name} FOUND\0`);
      assert.equal(verdict.status, 'unscannable');
      assert.ok(verdict.status === 'unscannable' && verdict.reason.includes(name) && verdict.signature === name);
    });
  }

  test('a limit heuristic names the limit in words a person reads on the ticket', () => {
    const verdict = parseScanReply('stream: Heuristics.Limits.Exceeded.MaxRecursion FOUND');
    assert.match(verdict.status === 'unscannable' ? verdict.reason : '', /stopped at its MaxRecursion limit before the end of the file/);
  });

  test('heuristics that are findings (phishing, macros) stay infected, like any signature', () => {
    for (const name of ['Heuristics.Phishing.Email.SpoofedDomain', 'Heuristics.OLE2.ContainsMacros', 'Heuristics.Limits.ExceededX', 'Mailgate.Test.EICAR.UNOFFICIAL']) {
      assert.deepEqual(parseScanReply(`stream: ${name} FOUND`), { status: 'infected', signature: name });
    }
  });

  test('a real signature in a multi-line reply wins over a limit; a limit beside OK is still unscannable', () => {
    assert.equal(parseScanReply('stream: Heuristics.Limits.Exceeded.MaxFiles FOUND\nstream: Win.Test.EICAR_HDB-1 FOUND').status, 'infected');
    assert.equal(parseScanReply('stream: OK\nstream: Heuristics.Encrypted.Zip FOUND').status, 'unscannable');
  });

  test("clamd's own size refusal (StreamMaxLength) is unscannable, not a failure and not clean", () => {
    const verdict = parseScanReply('INSTREAM size limit exceeded. ERROR\0');
    assert.equal(verdict.status, 'unscannable');
  });

  test('anything that is not exactly one verdict is never clean: it throws', () => {
    for (const reply of ['OK', 'stream: OK extra', 'stream: OK\nstream: OK', 'stream: ERROR', 'UNKNOWN COMMAND']) {
      assert.throws(() => parseScanReply(reply), { type: 'ScannerRejected' }, reply);
    }
    assert.throws(() => parseScanReply(''), { type: 'ScannerUnavailable' });
  });
});

/** A clamd stand-in that answers after `answerAfter` bytes of the INSTREAM body, then closes. */
async function fakeClamd(answerAfter: number, reply: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((socket) => {
    let seen = 0;
    let answered = false;
    socket.on('data', (data) => {
      seen += data.length;
      if (!answered && seen >= answerAfter) {
        answered = true;
        socket.end(`${reply}\0`);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, close: () => new Promise((r) => server.close(() => r())) };
}

describe('the stream to clamd', () => {
  test('an OK that arrives before the whole file was sent is unscannable: the rest was never looked at', async () => {
    const clamd = await fakeClamd(64 * 1024, 'stream: OK');
    try {
      const scanner = createClamdScanner({ host: '127.0.0.1', port: clamd.port, timeoutMs: 5_000 });
      const chunks = Array.from({ length: 64 }, () => Buffer.alloc(64 * 1024, 0x61));
      const verdict = await scanner.scan(Readable.from(chunks));
      assert.equal(verdict.status, 'unscannable');
      assert.match(verdict.status === 'unscannable' ? verdict.reason : '', /answered before the whole file was sent/);
    } finally {
      await clamd.close();
    }
  });

  test('an OK after the terminating chunk is clean', async () => {
    const body = Buffer.from('hello');
    // "zINSTREAM\0" (10) + a 4-byte length + the body + the 4-byte terminator.
    const clamd = await fakeClamd(10 + 4 + body.length + 4, 'stream: OK');
    try {
      const scanner = createClamdScanner({ host: '127.0.0.1', port: clamd.port, timeoutMs: 5_000 });
      assert.deepEqual(await scanner.scan(Readable.from([body])), { status: 'clean' });
    } finally {
      await clamd.close();
    }
  });
});

/** An object store that keeps objects in a map and records what was copied and deleted. */
function recordingStore(objects: Record<string, Buffer>): ObjectStore & { calls: string[] } {
  const calls: string[] = [];
  const missing = (key: string): Error => Object.assign(new Error(`no ${key}`), { type: 'ObjectNotFound' });
  return {
    calls,
    put: () => Promise.reject(new Error('not used')),
    exists: (key) => Promise.resolve(key in objects),
    refresh: (key) => Promise.resolve(key in objects),
    modifiedAt: () => Promise.reject(new Error('not used')),
    list: () => Promise.reject(new Error('not used')),
    deleteMany: () => Promise.reject(new Error('not used')),
    copy: (from, to) => {
      calls.push(`copy ${from} ${to}`);
      if (!objects[from]) return Promise.reject(missing(from));
      objects[to] = objects[from];
      return Promise.resolve();
    },
    getStream: (key) => (objects[key] ? Promise.resolve(Readable.from([objects[key]])) : Promise.reject(missing(key))),
    getBuffer: (key) => (objects[key] ? Promise.resolve(objects[key]) : Promise.reject(missing(key))),
    delete: (key) => {
      calls.push(`delete ${key}`);
      delete objects[key];
      return Promise.resolve();
    },
    presignGet: () => Promise.reject(new Error('not used')),
    ping: () => Promise.resolve(),
  };
}

function scannerSaying(verdict: ScanVerdict | Error): Scanner {
  return {
    scan: async (stream) => {
      for await (const _chunk of stream) void _chunk;
      if (verdict instanceof Error) throw verdict;
      return verdict;
    },
    ping: () => Promise.resolve(),
    version: () => Promise.resolve('fake'),
  };
}

/** Runs an activity function in Temporal's mock activity context (heartbeats go nowhere). */
function runActivity<I, R>(fn: (input: I) => Promise<R>, input: I): Promise<R> {
  return new MockActivityEnvironment().run(fn, input) as Promise<R>;
}

describe('the scan and store activities', () => {
  const part = { index: 0, partKey: 'parts/r/0', skippedReason: null, filename: 'deep.zip', contentType: 'application/zip', size: 10 };

  for (const policy of ['quarantine', 'strip'] as const) {
    test(`a limit hit is an unscannable result whose detail names the reason and the fate (${policy})`, async () => {
      const scan = createScanAttachments({
        store: recordingStore({ 'parts/r/0': Buffer.from('0123456789') }),
        scanner: scannerSaying({ status: 'unscannable', reason: 'the virus scanner stopped at its MaxRecursion limit', signature: 'Heuristics.Limits.Exceeded.MaxRecursion' }),
        attachmentPolicy: DEFAULT_ATTACHMENT_POLICY,
        unscannableAttachments: policy,
      });
      const [result] = await runActivity(scan, { parts: [part] });
      assert.equal(result?.status, 'unscannable');
      assert.match(result?.detail ?? '', /MaxRecursion limit/);
      assert.match(result?.detail ?? '', policy === 'quarantine' ? /kept in quarantine/ : /deleted/);
    });
  }

  test('a clean part says which engine and signature version passed it, asking clamd once per activity', async () => {
    let asked = 0;
    const scanner: Scanner = { ...scannerSaying({ status: 'clean' }), version: () => ((asked += 1), Promise.resolve('ClamAV 1.4.3/27480/Mon Dec  7 08:12:01 2026')) };
    const scan = createScanAttachments({
      store: recordingStore({ 'parts/r/0': Buffer.from('first notes'), 'parts/r/1': Buffer.from('second notes') }),
      scanner,
      attachmentPolicy: DEFAULT_ATTACHMENT_POLICY,
      unscannableAttachments: 'quarantine',
    });
    const results = await runActivity(scan, { parts: [{ ...part, filename: 'a.txt', contentType: 'text/plain', size: 11 }, { ...part, index: 1, partKey: 'parts/r/1', filename: 'b.txt', contentType: 'text/plain', size: 12 }] });
    assert.deepEqual(results.map((r) => [r.status, r.detail]), [['clean', 'clean (ClamAV 1.4.3/27480)'], ['clean', 'clean (ClamAV 1.4.3/27480)']]);
    assert.equal(asked, 1);
  });

  test('the engine name keeps the version and signature number and drops the database date', () => {
    assert.equal(engineOf('ClamAV 1.4.3/27480/Mon Dec  7 08:12:01 2026\n'), 'ClamAV 1.4.3/27480');
    assert.equal(engineOf('ClamAV 1.4.3'), 'ClamAV 1.4.3');
    assert.equal(engineOf(''), 'ClamAV');
  });

  test('a part read short from the store is never passed as clean: the activity fails as transient and is retried', async () => {
    const scan = createScanAttachments({
      store: recordingStore({ 'parts/r/0': Buffer.from('01234') }),
      scanner: scannerSaying({ status: 'clean' }),
      attachmentPolicy: DEFAULT_ATTACHMENT_POLICY,
      unscannableAttachments: 'quarantine',
    });
    await assert.rejects(runActivity(scan, { parts: [part] }), { type: 'ObjectStoreUnavailable', nonRetryable: false });
  });

  test('a stream clamd refuses with an error is unscannable, no longer merely skipped', async () => {
    const refused = Object.assign(new Error('clamd refused the stream: stream: Can\'t allocate memory ERROR'), { type: 'ScannerRejected' });
    const scan = createScanAttachments({
      store: recordingStore({ 'parts/r/0': Buffer.from('x') }),
      scanner: scannerSaying(refused),
      attachmentPolicy: DEFAULT_ATTACHMENT_POLICY,
      unscannableAttachments: 'quarantine',
    });
    const [result] = await runActivity(scan, { parts: [part] });
    assert.equal(result?.status, 'unscannable');
  });

  test('quarantine copies an unscannable part to quarantine/<sha256>; strip deletes the part; neither makes a linkable copy', async () => {
    const input = { parts: [{ index: 0, partKey: 'parts/r/0', sha256: 'abc', status: 'unscannable' as const }] };
    const kept = recordingStore({ 'parts/r/0': Buffer.from('x') });
    const [q] = await runActivity(createStoreAttachments({ store: kept, unscannableAttachments: 'quarantine' }), input);
    assert.deepEqual(q, { index: 0, storageKey: null, quarantineKey: 'quarantine/abc' });
    assert.deepEqual(kept.calls, ['copy parts/r/0 quarantine/abc']);
    const stripped = recordingStore({ 'parts/r/0': Buffer.from('x') });
    const [s] = await runActivity(createStoreAttachments({ store: stripped, unscannableAttachments: 'strip' }), input);
    assert.deepEqual(s, { index: 0, storageKey: null, quarantineKey: null });
    assert.deepEqual(stripped.calls, ['delete parts/r/0']);
  });

  test('a part skipped before scanning (no stored bytes) is neither copied nor deleted', async () => {
    const store = recordingStore({});
    const input = { parts: [{ index: 3, partKey: '', sha256: '', status: 'skipped' as const }] };
    const [r] = await runActivity(createStoreAttachments({ store, unscannableAttachments: 'strip' }), input);
    assert.deepEqual(r, { index: 3, storageKey: null, quarantineKey: null });
    assert.deepEqual(store.calls, []);
  });
});

describe('the ticket note and links', () => {
  const fact = (status: 'unscannable' | 'skipped', detail: string): AttachmentFacts => ({
    index: 0,
    filename: 'deep.zip',
    contentType: 'application/zip',
    size: 1,
    sha256: 'abc',
    contentId: null,
    inline: false,
    partKey: 'parts/r/0',
    skippedReason: null,
    scan: { status, detail },
    storageKey: 'attachments/abc',
  });

  test('an unscannable file is never linkable, even with a storage key, and the note names it and the reason', () => {
    const a = fact('unscannable', 'the virus scanner stopped at its MaxFiles limit; kept in quarantine for an operator');
    assert.equal(linkableKey(a), null);
    assert.deepEqual(keptBackNote([a], []), [
      'Attachment "deep.zip" could not be scanned completely: the virus scanner stopped at its MaxFiles limit; kept in quarantine for an operator. It is not linked.',
    ]);
  });

  test('text cut by the text limit gets a note line with both lengths; text within it gets none', () => {
    assert.equal(textCutNote(200_000, 200_000), null);
    assert.equal(
      textCutNote(200_001, 200_000),
      'The message text was cut to the first 200000 of its 200001 characters (text limit); the whole text is kept in the stored email.',
    );
  });

  test('a file cut by the per-email count is noted as removed with the limit', () => {
    const a = fact('skipped', 'over the limit of 3 attachments per email: not stored, not scanned');
    assert.deepEqual(keptBackNote([a], []), ['Attachment "deep.zip" was removed: over the limit of 3 attachments per email: not stored, not scanned.']);
  });
});

describe('attachments past the per-email count', () => {
  function withAttachments(count: number): string {
    const body = Array.from(
      { length: count },
      (_, i) => `--b\r\nContent-Type: application/octet-stream; name="f${i}.bin"\r\nContent-Disposition: attachment; filename="f${i}.bin"\r\n\r\n${'x'.repeat(i + 1)}\r\n`,
    ).join('');
    return `From: a@x.org\r\nTo: support@mailgate.local\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n${body}--b--\r\n`;
  }

  for (const [limit, count] of [[1, 2], [3, 4], [3, 10], [100, 101]] as const) {
    test(`${count} attachments with a limit of ${limit}: all ${count} are listed, those past it skipped with the reason, never stored`, async () => {
      const stored: number[] = [];
      const document = await parseMime(Readable.from([Buffer.from(withAttachments(count))]), {
        limits: { ...DEFAULT_LIMITS, maxAttachments: limit },
        sink: async (info, content) => {
          stored.push(info.index);
          content.resume();
          await new Promise((r) => content.on('end', r));
          return { partKey: `parts/r/${info.index}` };
        },
      });
      assert.equal(document.attachments.length, count);
      assert.deepEqual(stored, Array.from({ length: limit }, (_, i) => i), 'only the parts within the limit reach the sink');
      for (const a of document.attachments.slice(limit)) {
        assert.equal(a.partKey, '');
        assert.match(a.skippedReason ?? '', new RegExp(`over the limit of ${limit} attachments per email`));
        assert.equal(a.size, a.index + 1, 'the skipped part is measured');
        assert.equal(a.filename, `f${a.index}.bin`);
      }
      for (const a of document.attachments.slice(0, limit)) assert.equal(a.skippedReason, null);
    });
  }
});

describe('UNSCANNABLE_ATTACHMENTS', () => {
  test('defaults to quarantine, accepts strip in any case, and refuses anything else by name', () => {
    assert.equal(loadConfig(MINIMAL_ENV).unscannableAttachments, 'quarantine');
    assert.equal(loadConfig({ ...MINIMAL_ENV, UNSCANNABLE_ATTACHMENTS: 'STRIP' }).unscannableAttachments, 'strip');
    for (const bad of ['allow', 'link', '0', 'none']) {
      assert.throws(() => loadConfig({ ...MINIMAL_ENV, UNSCANNABLE_ATTACHMENTS: bad }), /UNSCANNABLE_ATTACHMENTS must be one of quarantine, strip/);
    }
  });
});
