/**
 * The stand-in's `/rest/servicedeskapi` subset. The Jira platform spec does not cover these, and the
 * JSM spec may not be copied here, so they are validated in code from the JSM REST reference
 * (developer.atlassian.com/cloud/jira/service-desk/rest/): request creation and its field rules,
 * comments, customers, and the temporary-file attachment flow with its XSRF header. Errors use JSM's
 * shape, `{errorMessage, i18nErrorMessage}`.
 */
import { createHash } from 'node:crypto';
import { formBody, isObject, jsonBody, type StandInAnswer, type StandInRequest } from '../loopback';
import { PRIORITIES, type JsmIssue, type JsmState, type JsmUser } from './state';

export function jsmError(status: number, message: string, i18nKey = 'sd.error'): StandInAnswer {
  return { status, body: { errorMessage: message, i18nErrorMessage: { i18nKey, parameters: [] } } };
}

/** A Jira label: no whitespace, at most 255 characters (Jira rejects the request otherwise). */
function labelProblem(label: unknown): string | null {
  if (typeof label !== 'string' || label === '') return 'Labels must be non-empty strings.';
  if (/\s/.test(label)) return `The label '${label}' contains spaces which is invalid.`;
  if (label.length > 255) return 'The label must not exceed 255 characters.';
  return null;
}

function when(epochMillis: number): Record<string, unknown> {
  const iso = new Date(epochMillis).toISOString();
  return { iso8601: iso, jira: iso, friendly: iso, epochMillis };
}

export function userJson(user: JsmUser): Record<string, unknown> {
  return { accountId: user.accountId, emailAddress: user.emailAddress, displayName: user.displayName, active: true, timeZone: 'Etc/UTC' };
}

export interface ServiceDeskOptions {
  /** Whether the token's account may create customers (JSM admin or "anyone can request" settings). */
  customerCreation: boolean;
}

export async function serviceDeskApi(state: JsmState, agent: JsmUser, req: StandInRequest, options: ServiceDeskOptions): Promise<StandInAnswer> {
  const parts = req.path.split('/').filter(Boolean).slice(2);
  const [first, second, third] = parts;
  if (req.method === 'POST' && parts.length === 1 && first === 'customer') return createCustomer(state, req, options);
  if (req.method === 'POST' && parts.length === 1 && first === 'request') return createRequest(state, agent, req);
  if (first === 'servicedesk' && third === 'attachTemporaryFile' && req.method === 'POST' && second) return attachTemporaryFile(state, second, req);
  if (first === 'request' && second) {
    const issue = state.issue(second);
    if (!issue) return jsmError(404, `Request '${second}' does not exist or you do not have permission to see it.`, 'sd.request.not.found');
    if (third === 'comment' && req.method === 'POST') return addComment(state, issue, agent, req);
    if (third === 'comment' && req.method === 'GET') return listComments(state, issue, req);
    if (third === 'attachment' && req.method === 'POST') return attach(state, issue, agent, req);
  }
  return jsmError(404, `No resource at ${req.method} ${req.path}`, 'sd.not.found');
}

function createCustomer(state: JsmState, req: StandInRequest, options: ServiceDeskOptions): StandInAnswer {
  if (!options.customerCreation) return jsmError(403, 'You do not have permission to create customers.', 'sd.customer.permission');
  const body = jsonBody(req);
  if (!isObject(body)) return jsmError(400, 'The request body is not valid JSON.');
  const { email, displayName } = body;
  if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email)) return jsmError(400, 'Enter a valid email address.', 'sd.customer.email.invalid');
  if (state.userByEmail(email)) return jsmError(400, 'An account already exists for this email.', 'sd.customer.email.exists');
  const user: JsmUser = {
    accountId: `qm:${createHash('sha1').update(email.toLowerCase()).digest('hex').slice(0, 24)}`,
    emailAddress: email,
    displayName: typeof displayName === 'string' && displayName !== '' ? displayName : email,
    accountType: 'customer',
  };
  state.users.set(user.accountId, user);
  return { status: 201, body: userJson(user) };
}

function createRequest(state: JsmState, agent: JsmUser, req: StandInRequest): StandInAnswer {
  const body = jsonBody(req);
  if (!isObject(body)) return jsmError(400, 'The request body is not valid JSON.');
  const desk = state.desks.get(String(body.serviceDeskId ?? ''));
  if (!desk) return jsmError(404, `The service desk '${String(body.serviceDeskId)}' does not exist.`, 'sd.servicedesk.not.found');
  const fields = desk.requestTypes.get(String(body.requestTypeId ?? ''));
  if (!fields) return jsmError(400, `The request type '${String(body.requestTypeId)}' does not exist on this service desk.`, 'sd.requesttype.not.found');
  const values = body.requestFieldValues;
  if (!isObject(values)) return jsmError(400, 'requestFieldValues is required.');
  for (const field of Object.keys(values)) {
    if (!fields.has(field)) return jsmError(400, `Field '${field}' is not valid for this request type.`, 'sd.request.field.invalid');
  }
  const { summary, description, labels, priority, attachment } = values;
  if (typeof summary !== 'string' || summary.trim() === '') return jsmError(400, 'Summary: You must specify a summary of the issue.');
  if (summary.length > 255) return jsmError(400, 'Summary: Summary must be less than 255 characters.');
  if (/[\r\n]/.test(summary)) return jsmError(400, 'Summary: Summary can not contain new line characters.');
  if (description !== undefined && (typeof description !== 'string' || description.length > 32_767)) return jsmError(400, 'Description: must be text of at most 32767 characters.');
  if (labels !== undefined && !Array.isArray(labels)) return jsmError(400, 'Labels: must be a list of labels.');
  for (const label of (labels as unknown[] | undefined) ?? []) {
    const problem = labelProblem(label);
    if (problem) return jsmError(400, `Labels: ${problem}`);
  }
  let priorityName = 'Medium';
  if (priority !== undefined) {
    const wanted = isObject(priority) ? priority : {};
    const found = PRIORITIES.find((p) => p.name === wanted.name || p.id === wanted.id);
    if (!found) return jsmError(400, `Priority: The priority selected is invalid.`);
    priorityName = found.name;
  }
  const tempIds = attachment === undefined ? [] : attachment;
  if (!Array.isArray(tempIds) || tempIds.some((id) => typeof id !== 'string' || !state.temporaryFiles.has(id))) {
    return jsmError(400, 'Attachment: one or more temporary attachments do not exist or have expired.');
  }
  let reporter = agent;
  if (body.raiseOnBehalfOf !== undefined) {
    const onBehalf = typeof body.raiseOnBehalfOf === 'string' ? state.users.get(body.raiseOnBehalfOf) : undefined;
    if (!onBehalf) return jsmError(400, `The user '${String(body.raiseOnBehalfOf)}' does not exist.`, 'sd.request.create.error.raiseOnBehalfOf');
    reporter = onBehalf;
  }
  const number = state.issueNumber();
  const issue: JsmIssue = {
    id: state.id(),
    key: `${desk.projectKey}-${number}`,
    serviceDeskId: desk.id,
    requestTypeId: String(body.requestTypeId),
    summary,
    description: typeof description === 'string' ? description : '',
    labels: [...new Set((labels as string[] | undefined) ?? [])],
    priority: priorityName,
    reporterId: reporter.accountId,
    statusId: '10001',
    created: Date.now(),
    comments: [],
    attachments: [],
    properties: new Map(),
    links: [],
  };
  for (const id of tempIds as string[]) consumeTemporary(state, issue, id, agent);
  state.issues.set(issue.key, issue);
  return {
    status: 201,
    body: {
      issueId: issue.id,
      issueKey: issue.key,
      requestTypeId: issue.requestTypeId,
      serviceDeskId: issue.serviceDeskId,
      createdDate: when(issue.created),
      reporter: userJson(reporter),
      requestFieldValues: [{ fieldId: 'summary', label: 'Summary', value: issue.summary }],
      currentStatus: { status: 'Waiting for support', statusCategory: 'NEW', statusDate: when(issue.created) },
    },
  };
}

function consumeTemporary(state: JsmState, issue: JsmIssue, tempId: string, author: JsmUser): JsmIssue['attachments'][number] {
  const file = state.temporaryFiles.get(tempId);
  if (!file) throw new Error(`temporary file ${tempId} vanished`);
  state.temporaryFiles.delete(tempId);
  const attachment = { id: state.id(), filename: file.fileName, mimeType: file.mimeType, size: file.bytes.length, bytes: file.bytes, authorId: author.accountId };
  issue.attachments.push(attachment);
  return attachment;
}

function commentJson(state: JsmState, c: JsmIssue['comments'][number]): Record<string, unknown> {
  const author = state.users.get(c.authorId);
  return { id: c.id, body: c.body, public: c.public, author: author ? userJson(author) : null, created: when(c.created) };
}

function addComment(state: JsmState, issue: JsmIssue, agent: JsmUser, req: StandInRequest): StandInAnswer {
  const body = jsonBody(req);
  if (!isObject(body)) return jsmError(400, 'The request body is not valid JSON.');
  if (typeof body.body !== 'string' || body.body.trim() === '') return jsmError(400, 'Comment body can not be empty!', 'sd.comment.body.empty');
  if (body.public !== undefined && typeof body.public !== 'boolean') return jsmError(400, "'public' must be true or false.");
  const comment = { id: state.id(), body: body.body, public: body.public !== false, authorId: agent.accountId, created: Date.now(), properties: new Map() };
  issue.comments.push(comment);
  return { status: 201, body: commentJson(state, comment) };
}

/** Paged as JSM pages (`start`, `limit`, `isLastPage`); `public`/`internal` filter like the real one. */
function listComments(state: JsmState, issue: JsmIssue, req: StandInRequest): StandInAnswer {
  const start = Number(req.query.get('start') ?? '0');
  const limit = Math.min(Number(req.query.get('limit') ?? '50'), 100);
  if (!Number.isInteger(start) || start < 0 || !Number.isInteger(limit) || limit < 1) return jsmError(400, 'start and limit must be non-negative integers.');
  const wantPublic = req.query.get('public') !== 'false';
  const wantInternal = req.query.get('internal') !== 'false';
  const all = issue.comments.filter((c) => (c.public ? wantPublic : wantInternal));
  const page = all.slice(start, start + limit);
  return { status: 200, body: { size: page.length, start, limit, isLastPage: start + limit >= all.length, values: page.map((c) => commentJson(state, c)) } };
}

async function attachTemporaryFile(state: JsmState, deskId: string, req: StandInRequest): Promise<StandInAnswer> {
  // The JSM reference: multipart calls need `X-Atlassian-Token: no-check`, else the XSRF check fails.
  if (String(req.headers['x-atlassian-token'] ?? '').toLowerCase() !== 'no-check') return { status: 403, body: 'XSRF check failed' };
  if (!state.desks.has(deskId)) return jsmError(404, `The service desk '${deskId}' does not exist.`, 'sd.servicedesk.not.found');
  const form = await formBody(req);
  if (!form) return jsmError(415, 'Expected a multipart/form-data request.');
  const files = form.getAll('file').filter((f): f is File => typeof f !== 'string');
  if (files.length === 0 || form.getAll('file').length !== files.length) return jsmError(400, "Expected one or more file parts named 'file'.");
  const temporaryAttachments = [];
  for (const file of files) {
    const temporaryAttachmentId = `temp${state.id()}`;
    state.temporaryFiles.set(temporaryAttachmentId, { serviceDeskId: deskId, fileName: file.name, mimeType: file.type || 'application/octet-stream', bytes: Buffer.from(await file.arrayBuffer()) });
    temporaryAttachments.push({ temporaryAttachmentId, fileName: file.name });
  }
  return { status: 201, body: { temporaryAttachments } };
}

function attach(state: JsmState, issue: JsmIssue, agent: JsmUser, req: StandInRequest): StandInAnswer {
  const body = jsonBody(req);
  if (!isObject(body)) return jsmError(400, 'The request body is not valid JSON.');
  const ids = body.temporaryAttachmentIds;
  if (!Array.isArray(ids) || ids.length === 0) return jsmError(400, 'temporaryAttachmentIds must name at least one temporary attachment.');
  if (typeof body.public !== 'boolean') return jsmError(400, "'public' is required and must be true or false.");
  for (const id of ids) {
    const file = typeof id === 'string' ? state.temporaryFiles.get(id) : undefined;
    if (!file || file.serviceDeskId !== issue.serviceDeskId) return jsmError(400, `The temporary attachment '${String(id)}' does not exist or has expired.`, 'sd.attachment.temporary.missing');
  }
  const added = (ids as string[]).map((id) => consumeTemporary(state, issue, id, agent));
  const values = added.map((a) => ({ filename: a.filename, author: userJson(agent), created: when(Date.now()), size: a.size, mimeType: a.mimeType }));
  return { status: 201, body: { attachments: { size: values.length, start: 0, limit: values.length, isLastPage: true, values } } };
}
