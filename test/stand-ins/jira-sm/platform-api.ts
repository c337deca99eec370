/**
 * The stand-in's `/rest/api/3` subset (Jira platform REST API v3): the calls Mailgate makes that the
 * published platform spec covers, so Prism validates both the connector's requests and these answers.
 * Search lags writes like Jira's index: an issue is found by JQL only `searchLagMs` after it was
 * created, unless its id is in `reconcileIssues` (developer.atlassian.com/cloud/jira/platform/search-and-reconcile).
 */
import { isObject, jsonBody, type StandInAnswer, type StandInRequest } from '../loopback';
import { LINK_TYPES, TRANSITIONS, type JsmIssue, type JsmState, type JsmUser } from './state';

/** Jira's error shape: `{errorMessages[], errors{}}`. */
export function jiraError(status: number, ...messages: string[]): StandInAnswer {
  return { status, body: { errorMessages: messages, errors: {} } };
}

/** The longest entity property value Jira accepts (platform spec: 32768 bytes). */
const MAX_PROPERTY_BYTES = 32_768;

function userBean(base: string, user: JsmUser): Record<string, unknown> {
  return {
    self: `${base}/rest/api/3/user?accountId=${encodeURIComponent(user.accountId)}`,
    accountId: user.accountId,
    accountType: user.accountType,
    emailAddress: user.emailAddress,
    displayName: user.displayName,
    active: true,
    timeZone: 'Etc/UTC',
  };
}

function statusBean(base: string, state: JsmState, statusId: string): Record<string, unknown> {
  const status = state.status(statusId);
  return {
    self: `${base}/rest/api/3/status/${status.id}`,
    id: status.id,
    name: status.name,
    statusCategory: { self: `${base}/rest/api/3/statuscategory/${status.category.id}`, ...status.category },
  };
}

function issueBean(base: string, state: JsmState, issue: JsmIssue, req: StandInRequest): Record<string, unknown> {
  const reporter = state.users.get(issue.reporterId);
  const all: Record<string, unknown> = {
    summary: issue.summary,
    labels: issue.labels,
    priority: { name: issue.priority },
    status: statusBean(base, state, issue.statusId),
    reporter: reporter ? userBean(base, reporter) : null,
    created: new Date(issue.created).toISOString(),
  };
  const wanted = req.query.get('fields');
  const fields = wanted === null || wanted === '*all' ? all : Object.fromEntries(wanted.split(',').filter((f) => f in all).map((f) => [f, all[f]]));
  const bean: Record<string, unknown> = { id: issue.id, key: issue.key, self: `${base}/rest/api/3/issue/${issue.id}`, fields };
  const properties = req.query.get('properties');
  if (properties !== null) {
    bean.properties = Object.fromEntries(properties.split(',').filter((k) => issue.properties.has(k)).map((k) => [k, issue.properties.get(k)]));
  }
  return bean;
}

export interface PlatformOptions {
  searchLagMs: number;
  base: string;
}

export function platformApi(state: JsmState, agent: JsmUser, req: StandInRequest, options: PlatformOptions): StandInAnswer {
  const parts = req.path.split('/').filter(Boolean).slice(3);
  const [first, second, third, fourth] = parts;
  const { base } = options;
  if (req.method === 'GET' && first === 'myself' && parts.length === 1) return { status: 200, body: userBean(base, agent) };
  if (req.method === 'GET' && first === 'user' && second === 'search') {
    const query = (req.query.get('query') ?? '').toLowerCase();
    if (query === '') return jiraError(400, "The 'query' parameter is required.");
    const found = [...state.users.values()].filter((u) => u.emailAddress.toLowerCase() === query || u.displayName.toLowerCase().startsWith(query));
    return { status: 200, body: found.map((u) => userBean(base, u)) };
  }
  if (req.method === 'POST' && first === 'search' && second === 'jql') return search(state, req, options);
  if (req.method === 'POST' && first === 'issueLink' && parts.length === 1) return link(state, req);
  if (first === 'comment' && second && third === 'properties' && fourth) {
    const comment = state.comment(second);
    if (!comment) return jiraError(404, 'The comment was not found.');
    if (req.method === 'PUT') return putProperty(comment.properties, fourth, req);
    if (req.method === 'GET') {
      if (!comment.properties.has(fourth)) return jiraError(404, `The property '${fourth}' does not exist.`);
      return { status: 200, body: { key: fourth, value: comment.properties.get(fourth) } };
    }
  }
  if (first !== 'issue' || !second) return jiraError(404, `No resource at ${req.method} ${req.path}`);
  const issue = state.issue(second);
  if (!issue) return jiraError(404, 'Issue does not exist or you do not have permission to see it.');
  if (req.method === 'GET' && parts.length === 2) return { status: 200, body: issueBean(base, state, issue, req) };
  if (req.method === 'PUT' && parts.length === 2) return editLabels(issue, req);
  if (third === 'properties' && fourth && req.method === 'PUT') return putProperty(issue.properties, fourth, req);
  if (third === 'transitions' && req.method === 'GET') {
    const done = state.status(issue.statusId).category.key === 'done';
    const available = TRANSITIONS.filter((t) => (t.from === 'done') === done);
    return {
      status: 200,
      body: { transitions: available.map((t) => ({ id: t.id, name: t.name, to: statusBean(base, state, t.to), hasScreen: false, isGlobal: false, isInitial: false, isAvailable: true, isConditional: false, looped: false })) },
    };
  }
  if (third === 'transitions' && req.method === 'POST') {
    const body = jsonBody(req);
    const id = isObject(body) && isObject(body.transition) ? body.transition.id : undefined;
    const done = state.status(issue.statusId).category.key === 'done';
    const transition = TRANSITIONS.find((t) => t.id === id && (t.from === 'done') === done);
    if (!transition) return jiraError(400, `Transition id '${String(id)}' is not valid for this issue.`);
    issue.statusId = transition.to;
    // No body (a 204 has none), but the media type the spec declares for it, or Prism flags the answer.
    return { status: 204, headers: { 'content-type': 'application/json' } };
  }
  return jiraError(404, `No resource at ${req.method} ${req.path}`);
}

function putProperty(properties: Map<string, unknown>, key: string, req: StandInRequest): StandInAnswer {
  if (key.length > 255) return jiraError(400, 'The property key can not be longer than 255 characters.');
  const value = jsonBody(req);
  if (value === undefined || req.body.length === 0) return jiraError(400, 'The property value has to be a valid, non-empty JSON.');
  if (req.body.length > MAX_PROPERTY_BYTES) return jiraError(400, `The property value can not be longer than ${MAX_PROPERTY_BYTES} bytes.`);
  const existed = properties.has(key);
  properties.set(key, value);
  // The spec declares an application/json answer (an empty object) for both.
  return { status: existed ? 200 : 201, body: {} };
}

function link(state: JsmState, req: StandInRequest): StandInAnswer {
  const body = jsonBody(req);
  if (!isObject(body) || !isObject(body.type) || !isObject(body.inwardIssue) || !isObject(body.outwardIssue)) return jiraError(400, 'type, inwardIssue and outwardIssue are required.');
  const wanted = body.type;
  const type = LINK_TYPES.find((t) => t.name === wanted.name || t.id === wanted.id);
  if (!type) return jiraError(404, `No issue link type with name '${String(wanted.name)}' found.`);
  const inward = state.issue(String(body.inwardIssue.key ?? body.inwardIssue.id ?? ''));
  const outward = state.issue(String(body.outwardIssue.key ?? body.outwardIssue.id ?? ''));
  if (!inward || !outward) return jiraError(404, 'Issue Does Not Exist');
  inward.links.push({ type: type.name, inward: inward.key, outward: outward.key });
  return { status: 201, body: {} };
}

/**
 * The JQL Mailgate sends: clauses joined by AND, each `labels = v`, `project = v` or `key = v`
 * (v bare or double-quoted). Anything else is a JQL error, as Jira answers for a query it cannot parse.
 */
function search(state: JsmState, req: StandInRequest, options: PlatformOptions): StandInAnswer {
  const body = jsonBody(req);
  if (!isObject(body) || typeof body.jql !== 'string') return jiraError(400, 'The JQL query is required.');
  const clauses: { field: string; value: string }[] = [];
  for (const clause of body.jql.split(/\s+AND\s+/i)) {
    const match = /^\s*(labels|project|key)\s*=\s*(?:"([^"]*)"|([^\s"]+))\s*$/i.exec(clause);
    if (!match) return jiraError(400, `Error in the JQL Query: the query '${body.jql}' could not be parsed.`);
    clauses.push({ field: (match[1] ?? '').toLowerCase(), value: match[2] ?? match[3] ?? '' });
  }
  const reconcile = new Set((Array.isArray(body.reconcileIssues) ? body.reconcileIssues : []).map(String));
  const maxResults = typeof body.maxResults === 'number' ? body.maxResults : 50;
  const indexedBefore = Date.now() - options.searchLagMs;
  const hits = [...state.issues.values()].filter(
    (issue) =>
      (issue.created <= indexedBefore || reconcile.has(issue.id)) &&
      clauses.every(({ field, value }) =>
        field === 'labels' ? issue.labels.includes(value) : field === 'key' ? issue.key === value.toUpperCase() : issue.key.startsWith(`${value.toUpperCase()}-`),
      ),
  );
  const wanted = Array.isArray(body.fields) ? body.fields.map(String) : [];
  const issues = hits.slice(0, maxResults).map((issue) => ({
    id: issue.id,
    key: issue.key,
    self: `${options.base}/rest/api/3/issue/${issue.id}`,
    fields: wanted.includes('summary') ? { summary: issue.summary } : {},
  }));
  return { status: 200, body: { issues, isLast: hits.length <= maxResults } };
}

/**
 * Edit issue (PUT /rest/api/3/issue/{key}), as far as Mailgate uses it: `update.labels` with `add`
 * and `remove` operations, which leave the other labels alone. A label with a space is refused as
 * Jira refuses it; any other field is refused rather than silently ignored.
 */
function editLabels(issue: { labels: string[] }, req: StandInRequest): StandInAnswer {
  const body = jsonBody(req);
  if (!isObject(body) || !isObject(body.update) || Object.keys(body).some((k) => k !== 'update') || Object.keys(body.update).some((k) => k !== 'labels')) {
    return jiraError(400, 'The stand-in edits labels only (update.labels).');
  }
  const ops = body.update.labels;
  if (!Array.isArray(ops)) return jiraError(400, 'update.labels must be a list of operations.');
  for (const op of ops) {
    if (!isObject(op)) return jiraError(400, 'A label operation must be an object.');
    const [verb, ...more] = Object.keys(op);
    const label = verb === undefined ? undefined : op[verb];
    if (more.length > 0 || (verb !== 'add' && verb !== 'remove') || typeof label !== 'string') return jiraError(400, 'A label operation is {"add": label} or {"remove": label}.');
    if (/\s/.test(label) || label.length > 255) return jiraError(400, `The label '${label}' contains spaces which is invalid.`);
    if (verb === 'add' && !issue.labels.includes(label)) issue.labels.push(label);
    if (verb === 'remove') issue.labels = issue.labels.filter((l) => l !== label);
  }
  return { status: 204, headers: { 'content-type': 'application/json' } };
}
