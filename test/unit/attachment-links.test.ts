import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAttachmentLink, signedAttachmentLink } from '../../src/api/attachment-links';
import { loadConfig } from '../../src/config';
import { MINIMAL_ENV } from '../helpers/env';

const settings = { secret: 'attachment-link-secret-for-tests', ttlSeconds: 600 };
const NOW = 1_800_000_000_000;

function parts(link: string): { id: string; expires: string | null; signature: string | null } {
  const url = new URL(link);
  return { id: decodeURIComponent(url.pathname.split('/').pop()!), expires: url.searchParams.get('expires'), signature: url.searchParams.get('signature') };
}

describe('signed attachment links', () => {
  test('a link names the attachment and an expiry ttlSeconds ahead, and verifies until then', () => {
    const link = signedAttachmentLink('https://help.example', settings, 'att_1/x', NOW);
    assert.match(link, /^https:\/\/help\.example\/v1\/attachment-links\/att_1%2Fx\?expires=\d+&signature=[0-9a-f]{64}$/);
    const { id, expires, signature } = parts(link);
    assert.equal(Number(expires), NOW / 1000 + 600);
    assert.deepEqual(checkAttachmentLink({ secret: settings.secret, id, expires, signature, nowMs: NOW + 600_000 }), { ok: true });
  });

  test('after its expiry a link is refused as expired', () => {
    const { id, expires, signature } = parts(signedAttachmentLink('http://x', settings, 'att_1', NOW));
    const check = checkAttachmentLink({ secret: settings.secret, id, expires, signature, nowMs: NOW + 601_000 });
    assert.deepEqual(check, { ok: false, reason: 'the link has expired; open the ticket again for a fresh one' });
  });

  test('a link with another id, a later expiry, an altered signature or another secret is refused as not matching', () => {
    const { id, expires, signature } = parts(signedAttachmentLink('http://x', settings, 'att_1', NOW));
    const altered = `${signature!.slice(0, -1)}${signature!.endsWith('0') ? '1' : '0'}`;
    for (const attempt of [
      { secret: settings.secret, id: 'att_2', expires, signature },
      { secret: settings.secret, id, expires: String(Number(expires) + 3600), signature },
      { secret: settings.secret, id, expires, signature: altered },
      { secret: 'another-secret-of-enough-length', id, expires, signature },
    ]) {
      assert.deepEqual(checkAttachmentLink({ ...attempt, nowMs: NOW }), { ok: false, reason: 'the link signature does not match' });
    }
  });

  test('a link without an expiry or signature, or with malformed ones, is refused before any HMAC', () => {
    for (const [expires, signature] of [
      [undefined, 'a'.repeat(64)],
      ['soon', 'a'.repeat(64)],
      ['1800000000', undefined],
      ['1800000000', 'zz'],
      [['1800000000', '1'], 'a'.repeat(64)],
    ] as const) {
      assert.equal(checkAttachmentLink({ secret: settings.secret, id: 'a', expires, signature, nowMs: NOW }).ok, false);
    }
  });

  test('the link secret comes from ATTACHMENT_LINK_SECRET, else is derived from MAILGATE_SIGNING_KEY; the lifetime defaults to 15 minutes', () => {
    const derived = loadConfig({ ...MINIMAL_ENV });
    assert.equal(derived.attachmentLinks.ttlSeconds, 900);
    assert.match(derived.attachmentLinks.secret, /^[0-9a-f]{64}$/);
    assert.notEqual(derived.attachmentLinks.secret, derived.signingKey);
    const own = loadConfig({ ...MINIMAL_ENV, ATTACHMENT_LINK_SECRET: 'an-attachment-link-secret', ATTACHMENT_LINK_TTL_SECONDS: '120' });
    assert.deepEqual(own.attachmentLinks, { secret: 'an-attachment-link-secret', ttlSeconds: 120 });
    assert.throws(() => loadConfig({ ...MINIMAL_ENV, ATTACHMENT_LINK_SECRET: 'short' }), /ATTACHMENT_LINK_SECRET must be at least 16 characters/);
    assert.throws(() => loadConfig({ ...MINIMAL_ENV, ATTACHMENT_LINK_TTL_SECONDS: '0' }), /ATTACHMENT_LINK_TTL_SECONDS/);
  });
});
