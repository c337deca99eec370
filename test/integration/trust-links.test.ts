/**
 * Issue 12, class 8, through the real pipeline: an HTML email carrying every link of
 * test/fixtures/xss/links.json is parsed, sanitized and stored by the worker, and the ticket the
 * API returns holds each kept link as exactly the normalised href, and no refused one. Links with
 * raw C0 controls other than tab and newline are left to the unit tests: MIME transport does not
 * carry them as written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type RunningApp } from '../helpers/app';
import { parseTags } from '../helpers/html-tokens';
import { LINKS } from '../helpers/link-vectors';
import { compose, postMime } from '../helpers/mail';
import { settled, ticket } from '../helpers/pipeline';
import { unique } from '../helpers/stack';

const attr = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const TRANSPORTABLE = (input: string): boolean => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(input);

describe('links in a ticket are the links that were judged', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('every kept link reaches the ticket normalised, and no refused link reaches it at all', async () => {
    const kept = LINKS.kept.filter(([input]) => TRANSPORTABLE(input));
    const refused = LINKS.refused.filter(([input]) => TRANSPORTABLE(input));
    const html = [
      '<p>Links:</p>',
      ...kept.map(([input], i) => `<a href="${attr(input)}">kept-${i}</a>`),
      ...refused.map(([input], i) => `<a href="${attr(input)}">refused-${i}</a>`),
      ...refused.map(([input], i) => `<img src="${attr(input)}" alt="img-${i}"><form action="${attr(input)}"><button formaction="${attr(input)}">f${i}</button></form>`),
    ].join('\n');
    const raw = await compose({ from: `${unique('links')}@customer.example`, to: 'support@mailgate.local', subject: 'Hostile links', html, text: 'see html', messageId: `<${unique('links')}@customer.example>` });
    const posted = await postMime(app.url, raw);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const view = await settled(app.url, posted.body.emails![0]!.workflowId, 90_000);
    const stored = (await ticket(app.url, view.state!.ticketId!)).comments[0]!.html ?? '';

    const anchors = new Map<string, string | undefined>();
    for (const match of stored.matchAll(/(<a\b[^>]*>)((?:kept|refused)-\d+)<\/a>/g)) {
      anchors.set(match[2]!, parseTags(match[1]!)[0]?.attributes.find((a) => a.name === 'href')?.value);
    }
    for (const [i, [input, expected]] of kept.entries()) assert.equal(anchors.get(`kept-${i}`), expected, JSON.stringify(input));
    for (const [i, [input]] of refused.entries()) {
      assert.ok(anchors.has(`refused-${i}`), `the link text of ${JSON.stringify(input)} stays`);
      assert.equal(anchors.get(`refused-${i}`), undefined, JSON.stringify(input));
    }
    // Inline images stay: a raster data: image, and a cid: one whose part is not in this email
    // (the API empties its source rather than point it anywhere).
    const inline = (tag: string, name: string, value: string): boolean => tag === 'img' && name === 'src' && /^(?:data:image\/(?:png|gif|jpeg|webp);base64,.+)?$/.test(value);
    const others = parseTags(stored).flatMap((tag) =>
      tag.attributes.filter((a) => ['src', 'action', 'formaction'].includes(a.name) && !inline(tag.name, a.name, a.value)).map((a) => `<${tag.name} ${a.name}="${a.value}">`),
    );
    assert.deepEqual(others, [], 'no remote image source, form action or formaction survives');
    assert.equal(kept.length + refused.length * 4 > 300, true, `${kept.length} kept and ${refused.length} refused links, four places each`);
  });
});
