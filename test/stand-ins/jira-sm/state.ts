/**
 * What the Jira Service Management stand-in remembers: accounts, one service desk with its request
 * types, requests (issues) with comments, attachments, entity properties and links, temporary files,
 * and a workflow of three statuses. Ids and keys are issued like Jira's (numeric ids, `SD-<n>` keys).
 */
export interface JsmUser {
  accountId: string;
  emailAddress: string;
  displayName: string;
  accountType: 'atlassian' | 'customer';
}

export interface JsmAttachment {
  id: string;
  filename: string;
  mimeType: string;
  size: number;
  bytes: Buffer;
  authorId: string;
}

export interface JsmComment {
  id: string;
  body: string;
  public: boolean;
  authorId: string;
  created: number;
  properties: Map<string, unknown>;
}

export interface JsmIssue {
  id: string;
  key: string;
  serviceDeskId: string;
  requestTypeId: string;
  summary: string;
  description: string;
  labels: string[];
  priority: string;
  reporterId: string;
  statusId: string;
  created: number;
  comments: JsmComment[];
  attachments: JsmAttachment[];
  properties: Map<string, unknown>;
  links: { type: string; inward: string; outward: string }[];
}

export interface JsmStatus {
  id: string;
  name: string;
  category: { id: number; key: 'new' | 'indeterminate' | 'done'; name: string; colorName: string };
}

export const STATUSES: JsmStatus[] = [
  { id: '10001', name: 'Waiting for support', category: { id: 2, key: 'new', name: 'To Do', colorName: 'blue-gray' } },
  { id: '10002', name: 'In progress', category: { id: 4, key: 'indeterminate', name: 'In Progress', colorName: 'yellow' } },
  { id: '10003', name: 'Resolved', category: { id: 3, key: 'done', name: 'Done', colorName: 'green' } },
];

/** The workflow: from any open status one can resolve; from Resolved one can reopen. */
export const TRANSITIONS: { id: string; name: string; from: 'open' | 'done'; to: string }[] = [
  { id: '761', name: 'Resolve this issue', from: 'open', to: '10003' },
  { id: '781', name: 'Start progress', from: 'open', to: '10002' },
  { id: '901', name: 'Reopen', from: 'done', to: '10001' },
];

export const PRIORITIES = [
  { id: '1', name: 'Highest' },
  { id: '2', name: 'High' },
  { id: '3', name: 'Medium' },
  { id: '4', name: 'Low' },
  { id: '5', name: 'Lowest' },
];

export const LINK_TYPES = [
  { id: '10000', name: 'Blocks', inward: 'is blocked by', outward: 'blocks' },
  { id: '10001', name: 'Cloners', inward: 'is cloned by', outward: 'clones' },
  { id: '10002', name: 'Duplicate', inward: 'is duplicated by', outward: 'duplicates' },
  { id: '10003', name: 'Relates', inward: 'relates to', outward: 'relates to' },
];

export interface JsmServiceDesk {
  id: string;
  projectKey: string;
  /** Request type id → the fields its form has (`requestFieldValues` may name only these). */
  requestTypes: Map<string, Set<string>>;
}

export class JsmState {
  readonly users = new Map<string, JsmUser>();
  readonly desks = new Map<string, JsmServiceDesk>();
  readonly issues = new Map<string, JsmIssue>();
  readonly temporaryFiles = new Map<string, { serviceDeskId: string; fileName: string; mimeType: string; bytes: Buffer }>();
  private nextIssue = 1;
  private nextId = 10_000;

  constructor(readonly agent: JsmUser) {
    this.users.set(agent.accountId, agent);
  }

  id(): string {
    this.nextId += 1;
    return String(this.nextId);
  }

  issueNumber(): number {
    const n = this.nextIssue;
    this.nextIssue += 1;
    return n;
  }

  userByEmail(email: string): JsmUser | undefined {
    const wanted = email.toLowerCase();
    return [...this.users.values()].find((u) => u.emailAddress.toLowerCase() === wanted);
  }

  /** An issue by key or numeric id, as Jira accepts either in `{issueIdOrKey}`. */
  issue(idOrKey: string): JsmIssue | undefined {
    const byKey = this.issues.get(idOrKey.toUpperCase());
    if (byKey) return byKey;
    return [...this.issues.values()].find((i) => i.id === idOrKey);
  }

  comment(commentId: string): JsmComment | undefined {
    for (const issue of this.issues.values()) {
      const found = issue.comments.find((c) => c.id === commentId);
      if (found) return found;
    }
    return undefined;
  }

  status(id: string): JsmStatus {
    const status = STATUSES.find((s) => s.id === id);
    if (!status) throw new Error(`unknown status ${id}`);
    return status;
  }
}
