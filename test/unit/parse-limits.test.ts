import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readHeaderBlock } from '../../src/ingress/mime-headers';
import { loadConfig } from '../../src/config';
import { MINIMAL_ENV } from '../helpers/env';
import { DEFAULT_LIMITS } from '../../src/domain/limits';
import { MalformedMimeError, parseMime } from '../../src/parsing/parse-mime';

function multipart(parts: number): string {
  const body = Array.from({ length: parts }, (_, i) => `--b\r\nContent-Type: text/plain; name="p${i}.txt"\r\nContent-Disposition: attachment; filename="p${i}.txt"\r\n\r\npart ${i}\r\n`).join('');
  return `From: a@x.org\r\nTo: support@mailgate.local\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${body}--b--\r\n`;
}

const discard = async (_part: unknown, content: Readable): Promise<{ partKey: string }> => {
  content.resume();
  await new Promise((r) => content.on('end', r));
  return { partKey: 'discarded' };
};

describe('parser limits', () => {
  test('a message with more MIME parts than the limit is rejected as malformed, one within it parses', async () => {
    const limits = { ...DEFAULT_LIMITS, maxMimeParts: 20 };
    const ok = await parseMime(Readable.from([Buffer.from(multipart(10))]), { limits, sink: discard });
    assert.equal(ok.attachments.length, 10);
    await assert.rejects(parseMime(Readable.from([Buffer.from(multipart(40))]), { limits, sink: discard }), MalformedMimeError);
  });
  test('the header block limit is a parameter of the ingress reader', () => {
    const big = `From: a@x.org\r\n${'X-Junk: v\r\n'.repeat(2000)}\r\nbody`;
    assert.doesNotThrow(() => readHeaderBlock(Buffer.from(big)));
    assert.throws(() => readHeaderBlock(Buffer.from(big), 4096), /no end of the header block within 4096 bytes/);
  });
  test('parser limits come from the environment, validated: 0 or a non-number is refused by name', () => {
    const base = MINIMAL_ENV;
    assert.equal(loadConfig({ ...base, MAX_MIME_PARTS: '50' }).limits.maxMimeParts, 50);
    assert.throws(() => loadConfig({ ...base, MAX_MIME_PARTS: '0' }), /MAX_MIME_PARTS/);
    assert.throws(() => loadConfig({ ...base, MAX_HEADER_BYTES: 'big' }), /MAX_HEADER_BYTES/);
    assert.throws(() => loadConfig({ ...base, MAX_ATTACHMENTS: '-1' }), /MAX_ATTACHMENTS/);
  });
});
