/**
 * Stateful loopback stand-ins for the four notification APIs (issue 19), each validating what it is
 * sent against the documented schema and answering with the documented shapes:
 *
 *   Slack incoming webhook   POST /slack/hooks/<id>           200 "ok"; 400 invalid_blocks / invalid_payload;
 *                                                             404 no_service; 429 with Retry-After
 *   Slack chat.postMessage   POST /slack/api/chat.postMessage 200 {ok:true, channel, ts, message} or
 *                                                             {ok:false, error} (invalid_auth, channel_not_found,
 *                                                             invalid_blocks, thread_not_found); 429 Retry-After
 *   Teams workflow webhook   POST /teams/<id>                 202; 400 for a card that is not an Adaptive Card
 *   PagerDuty Events v2      POST /pagerduty/v2/enqueue       202 {status:"success", message, dedup_key};
 *                                                             400 {status:"invalid event", message, errors}; 429
 *   Opsgenie Alert API       POST /opsgenie/v2/alerts         202 {result, took, requestId}; 422 {message, errors};
 *                            POST /opsgenie/v2/alerts/<alias>/close?identifierType=alias   401 without GenieKey
 *
 * `failNext(route, answer)` queues an answer for the next request to a route (a 429, a 500, an ok:false).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = 'slack-webhook' | 'slack-api' | 'teams' | 'pagerduty' | 'opsgenie';

export interface Recorded {
  route: Route;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  threadTs: string | null;
  text: string;
  blocks: unknown[];
}

export interface Incident {
  dedupKey: string;
  status: 'triggered' | 'resolved';
  triggers: number;
  severity: string;
  summary: string;
}

export interface Alert {
  alias: string;
  message: string;
  priority: string;
  status: 'open' | 'closed';
  creates: number;
  requestIds: string[];
}

const PD_SEVERITIES = ['critical', 'error', 'warning', 'info'];
const OG_PRIORITIES = ['P1', 'P2', 'P3', 'P4', 'P5'];

/** Block Kit basics: known block types, text objects well-formed, Slack's documented lengths. */
export function blockKitErrors(blocks: unknown): string[] {
  const errors: string[] = [];
  if (!Array.isArray(blocks)) return ['blocks must be an array'];
  if (blocks.length > 50) errors.push('at most 50 blocks');
  const textObject = (t: unknown, where: string, max: number, plainOnly = false): void => {
    const o = t as { type?: unknown; text?: unknown } | undefined;
    if (!o || (o.type !== 'plain_text' && o.type !== 'mrkdwn') || (plainOnly && o.type !== 'plain_text')) errors.push(`${where}: bad text object type`);
    else if (typeof o.text !== 'string' || o.text.length === 0 || o.text.length > max) errors.push(`${where}: text must be 1-${max} characters`);
  };
  blocks.forEach((b: unknown, i) => {
    const block = b as Record<string, unknown>;
    const where = `blocks[${i}]`;
    switch (block.type) {
      case 'header':
        textObject(block.text, `${where}.text`, 150, true);
        break;
      case 'section':
        if (block.text === undefined && block.fields === undefined) errors.push(`${where}: a section needs text or fields`);
        if (block.text !== undefined) textObject(block.text, `${where}.text`, 3000);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > 10) errors.push(`${where}.fields: 1-10 fields`);
          else block.fields.forEach((f, j) => textObject(f, `${where}.fields[${j}]`, 2000));
        }
        break;
      case 'actions': {
        const elements = block.elements;
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) errors.push(`${where}.elements: 1-25 elements`);
        else
          elements.forEach((e: Record<string, unknown>, j) => {
            if (e.type !== 'button') errors.push(`${where}.elements[${j}]: only buttons here`);
            textObject(e.text, `${where}.elements[${j}].text`, 75, true);
            if (e.url !== undefined && (typeof e.url !== 'string' || e.url.length > 3000 || !/^https?:\/\//.test(e.url))) errors.push(`${where}.elements[${j}].url invalid`);
          });
        break;
      }
      case 'context':
      case 'divider':
        break;
      default:
        errors.push(`${where}: unknown block type ${String(block.type)}`);
    }
  });
  return errors;
}

/** Adaptive Card basics for a Teams workflow webhook: message envelope, card type and version, element types. */
export function adaptiveCardErrors(body: unknown): string[] {
  const errors: string[] = [];
  const message = body as { type?: unknown; attachments?: unknown } | undefined;
  if (message?.type !== 'message') errors.push('type must be "message"');
  if (!Array.isArray(message?.attachments) || message.attachments.length !== 1) return [...errors, 'exactly one attachment'];
  const attachment = message.attachments[0] as { contentType?: unknown; content?: Record<string, unknown> };
  if (attachment.contentType !== 'application/vnd.microsoft.card.adaptive') errors.push('contentType must be application/vnd.microsoft.card.adaptive');
  const card = attachment.content;
  if (!card || card.type !== 'AdaptiveCard') return [...errors, 'content.type must be AdaptiveCard'];
  if (typeof card.version !== 'string' || !/^1\.[0-6]$/.test(card.version)) errors.push('content.version must be 1.0-1.6');
  if (!Array.isArray(card.body)) errors.push('content.body must be an array');
  else
    for (const [i, element] of (card.body as Record<string, unknown>[]).entries()) {
      if (element.type === 'TextBlock') {
        if (typeof element.text !== 'string') errors.push(`body[${i}].text must be a string`);
      } else if (element.type === 'FactSet') {
        const facts = element.facts as unknown;
        if (!Array.isArray(facts) || !facts.every((f: { title?: unknown; value?: unknown }) => typeof f.title === 'string' && typeof f.value === 'string')) errors.push(`body[${i}].facts must be {title, value} strings`);
      } else errors.push(`body[${i}]: unexpected element ${String(element.type)}`);
    }
  for (const [i, action] of ((card.actions as Record<string, unknown>[] | undefined) ?? []).entries()) {
    if (action.type !== 'Action.OpenUrl' || typeof action.url !== 'string' || typeof action.title !== 'string') errors.push(`actions[${i}] must be Action.OpenUrl with title and url`);
  }
  return errors;
}

/** PagerDuty Events API v2 required fields and limits. */
export function pagerDutyErrors(event: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (typeof event.routing_key !== 'string' || event.routing_key.length !== 32) errors.push("'routing_key' must be a 32-character integration key");
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(event.event_action))) errors.push("'event_action' is invalid");
  if (event.dedup_key !== undefined && (typeof event.dedup_key !== 'string' || event.dedup_key.length > 255)) errors.push("'dedup_key' must be at most 255 characters");
  if (event.event_action !== 'trigger') {
    if (typeof event.dedup_key !== 'string') errors.push("'dedup_key' is required for acknowledge and resolve");
    return errors;
  }
  const payload = event.payload as Record<string, unknown> | undefined;
  if (!payload) return [...errors, "'payload' is missing"];
  if (typeof payload.summary !== 'string' || payload.summary.length === 0 || payload.summary.length > 1024) errors.push("'payload.summary' is required, at most 1024 characters");
  if (typeof payload.source !== 'string' || payload.source.length === 0) errors.push("'payload.source' is required");
  if (!PD_SEVERITIES.includes(String(payload.severity))) errors.push("'payload.severity' must be critical, error, warning or info");
  if (payload.custom_details !== undefined && (typeof payload.custom_details !== 'object' || payload.custom_details === null)) errors.push("'payload.custom_details' must be an object");
  if (event.links !== undefined && (!Array.isArray(event.links) || !event.links.every((l: { href?: unknown }) => typeof l.href === 'string'))) errors.push("'links' must be {href, text}");
  return errors;
}

/** Opsgenie create-alert fields and limits. */
export function opsgenieErrors(alert: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (typeof alert.message !== 'string' || alert.message.length === 0 || alert.message.length > 130) errors.push('message is required, at most 130 characters');
  if (alert.alias !== undefined && (typeof alert.alias !== 'string' || alert.alias.length > 512)) errors.push('alias is at most 512 characters');
  if (alert.description !== undefined && (typeof alert.description !== 'string' || alert.description.length > 15_000)) errors.push('description is at most 15000 characters');
  if (alert.priority !== undefined && !OG_PRIORITIES.includes(String(alert.priority))) errors.push('priority must be P1-P5');
  if (alert.tags !== undefined && (!Array.isArray(alert.tags) || alert.tags.length > 20 || !alert.tags.every((t) => typeof t === 'string' && t.length <= 50))) errors.push('tags: at most 20 of 50 characters');
  if (alert.details !== undefined && (typeof alert.details !== 'object' || alert.details === null || !Object.values(alert.details).every((v) => typeof v === 'string'))) errors.push('details must map strings to strings');
  return errors;
}

export class NotifierStandIns {
  readonly requests: Recorded[] = [];
  readonly slackMessages: SlackMessage[] = [];
  readonly webhookMessages: { text: string; blocks: unknown[] }[] = [];
  readonly teamsCards: unknown[] = [];
  readonly incidents = new Map<string, Incident>();
  readonly alerts = new Map<string, Alert>();
  readonly slackToken = `xoxb-test-${randomUUID()}`;
  readonly slackChannel = 'C0NOTIFY1';
  readonly routingKey = randomUUID().replace(/-/g, '');
  readonly opsgenieKey = randomUUID();
  readonly hookId = randomUUID();
  private readonly queued = new Map<Route, Answer[]>();
  private server: Server | undefined;
  private tsCounter = 0;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get slackWebhookUrl(): string {
    return `${this.url}/slack/hooks/${this.hookId}`;
  }

  get teamsWebhookUrl(): string {
    return `${this.url}/teams/${this.hookId}`;
  }

  /** The answer to the next request on `route`, before any validation. */
  failNext(route: Route, answer: Answer): void {
    this.queued.set(route, [...(this.queued.get(route) ?? []), answer]);
  }

  to(route: Route): Recorded[] {
    return this.requests.filter((r) => r.route === route);
  }

  private handle(req: IncomingMessage, text: string, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const route: Route | null = path.startsWith('/slack/hooks/')
      ? 'slack-webhook'
      : path.startsWith('/slack/api/')
        ? 'slack-api'
        : path.startsWith('/teams/')
          ? 'teams'
          : path.startsWith('/pagerduty/')
            ? 'pagerduty'
            : path.startsWith('/opsgenie/')
              ? 'opsgenie'
              : null;
    const send = (answer: Answer): void => {
      const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json', ...answer.headers });
      res.end(body);
    };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!route || req.method !== 'POST') return send({ status: 404, body: 'no_service' });
    this.requests.push({ route, path, headers: req.headers, body });
    const queued = this.queued.get(route)?.shift();
    if (queued) return send(queued);
    if (body === undefined || typeof body !== 'object' || body === null) {
      return send(route === 'slack-webhook' ? { status: 400, body: 'invalid_payload' } : { status: 400, body: { message: 'invalid JSON' } });
    }
    const o = body as Record<string, unknown>;
    switch (route) {
      case 'slack-webhook':
        return send(this.slackWebhook(path, o));
      case 'slack-api':
        return send(this.postMessage(req, path, o));
      case 'teams': {
        if (!path.endsWith(this.hookId)) return send({ status: 401, body: { error: { code: 'DirectApiAuthorizationRequired', message: 'signature invalid' } } });
        const errors = adaptiveCardErrors(o);
        if (errors.length > 0) return send({ status: 400, body: { error: { code: 'InvalidRequestContent', message: errors.join('; ') } } });
        this.teamsCards.push(o);
        return send({ status: 202 });
      }
      case 'pagerduty':
        return send(this.pagerDuty(path, o));
      case 'opsgenie':
        return send(this.opsgenie(req, path, o));
    }
  }

  private slackWebhook(path: string, o: Record<string, unknown>): Answer {
    if (!path.endsWith(this.hookId)) return { status: 404, body: 'no_service' };
    if (typeof o.text !== 'string' && o.blocks === undefined) return { status: 400, body: 'no_text' };
    if (o.blocks !== undefined && blockKitErrors(o.blocks).length > 0) return { status: 400, body: 'invalid_blocks' };
    this.webhookMessages.push({ text: String(o.text ?? ''), blocks: (o.blocks as unknown[]) ?? [] });
    return { status: 200, body: 'ok' };
  }

  private postMessage(req: IncomingMessage, path: string, o: Record<string, unknown>): Answer {
    if (path !== '/slack/api/chat.postMessage') return { status: 200, body: { ok: false, error: 'unknown_method' } };
    if (req.headers.authorization !== `Bearer ${this.slackToken}`) return { status: 200, body: { ok: false, error: req.headers.authorization ? 'invalid_auth' : 'not_authed' } };
    if (o.channel !== this.slackChannel) return { status: 200, body: { ok: false, error: 'channel_not_found' } };
    if (typeof o.text !== 'string' && o.blocks === undefined) return { status: 200, body: { ok: false, error: 'no_text' } };
    if (o.blocks !== undefined && blockKitErrors(o.blocks).length > 0) return { status: 200, body: { ok: false, error: 'invalid_blocks', errors: blockKitErrors(o.blocks) } };
    const threadTs = typeof o.thread_ts === 'string' ? o.thread_ts : null;
    if (threadTs && !this.slackMessages.some((m) => m.ts === threadTs)) return { status: 200, body: { ok: false, error: 'thread_not_found' } };
    this.tsCounter++;
    const ts = `1700000000.${String(this.tsCounter).padStart(6, '0')}`;
    this.slackMessages.push({ channel: this.slackChannel, ts, threadTs, text: String(o.text ?? ''), blocks: (o.blocks as unknown[]) ?? [] });
    return { status: 200, body: { ok: true, channel: this.slackChannel, ts, message: { type: 'message', text: o.text, ts, ...(threadTs ? { thread_ts: threadTs } : {}) } } };
  }

  private pagerDuty(path: string, o: Record<string, unknown>): Answer {
    if (path !== '/pagerduty/v2/enqueue') return { status: 404, body: { status: 'not found' } };
    const errors = pagerDutyErrors(o);
    if (errors.length > 0) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
    if (o.routing_key !== this.routingKey) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Invalid routing key'] } };
    const dedupKey = typeof o.dedup_key === 'string' ? o.dedup_key : randomUUID().replace(/-/g, '');
    const incident = this.incidents.get(dedupKey);
    const payload = o.payload as { severity?: string; summary?: string } | undefined;
    if (o.event_action === 'trigger') {
      if (incident && incident.status === 'triggered') incident.triggers++;
      else this.incidents.set(dedupKey, { dedupKey, status: 'triggered', triggers: 1, severity: String(payload?.severity), summary: String(payload?.summary) });
    } else if (o.event_action === 'resolve' && incident) incident.status = 'resolved';
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
  }

  private opsgenie(req: IncomingMessage, path: string, o: Record<string, unknown>): Answer {
    const requestId = randomUUID();
    if (req.headers.authorization !== `GenieKey ${this.opsgenieKey}`) return { status: 401, body: { message: 'Could not authenticate', took: 0.001, requestId } };
    const close = /^\/opsgenie\/v2\/alerts\/([^/]+)\/close$/.exec(path);
    if (close) {
      const alias = decodeURIComponent(close[1]!);
      if (!(req.url ?? '').includes('identifierType=alias')) return { status: 422, body: { message: 'identifierType must be alias here', took: 0.001, requestId } };
      const alert = this.alerts.get(alias);
      if (alert) alert.status = 'closed';
      return { status: 202, body: { result: 'Request will be processed', took: 0.002, requestId } };
    }
    if (path !== '/opsgenie/v2/alerts') return { status: 404, body: { message: 'not found', took: 0.001, requestId } };
    const errors = opsgenieErrors(o);
    if (errors.length > 0) return { status: 422, body: { message: 'Request body is not processable', errors, took: 0.001, requestId } };
    const alias = typeof o.alias === 'string' ? o.alias : requestId;
    const alert = this.alerts.get(alias);
    // Opsgenie de-duplicates an open alert by alias: its count goes up, no new alert.
    if (alert && alert.status === 'open') {
      alert.creates++;
      alert.requestIds.push(requestId);
    } else this.alerts.set(alias, { alias, message: String(o.message), priority: String(o.priority ?? 'P3'), status: 'open', creates: 1, requestIds: [requestId] });
    return { status: 202, body: { result: 'Request will be processed', took: 0.003, requestId } };
  }
}
