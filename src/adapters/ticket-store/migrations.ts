/**
 * Schema versions, one DDL text per dialect. Append new versions; never edit an applied one, since
 * `schema_migrations` records only the version number.
 */

export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

const CHECKS = {
  status: `CHECK (status IN ('open', 'pending', 'closed'))`,
  scan: `CHECK (scan_status IN ('clean', 'infected', 'skipped'))`,
  /** Version 4 on: a file the scanner could not read whole is 'unscannable' (issue 12). */
  scanWithUnscannable: `CHECK (scan_status IN ('clean', 'infected', 'skipped', 'unscannable'))`,
  kind: `CHECK (kind IN ('inbound', 'acknowledgement', 'outbound'))`,
  ack: `CHECK (state IN ('reserved', 'sent'))`,
  priority: `CHECK (priority IN ('low', 'normal', 'high', 'urgent'))`,
  emailClass: `CHECK (email_class IN ('human', 'auto_reply', 'auto_generated', 'bounce', 'own_loop'))`,
  outcome: `CHECK (outcome IN ('ticket_created', 'comment_added', 'note_added', 'suppressed', 'rejected', 'failed'))`,
};

/** Listings filter by one column and page newest first, so each filter gets its own ordered index. */
const LISTING_INDEXES = `
CREATE INDEX tickets_newest ON tickets (created DESC, number DESC);
CREATE INDEX tickets_queue_newest ON tickets (queue, created DESC, number DESC);
CREATE INDEX tickets_requester_newest ON tickets (requester, created DESC, number DESC);
CREATE INDEX tickets_status_newest ON tickets (status, created DESC, number DESC);
CREATE INDEX comments_ticket ON comments (ticket_id, created);
CREATE INDEX attachments_comment ON attachments (comment_id, position);
CREATE INDEX thread_index_ticket ON thread_index (ticket_id);
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tickets, comments, attachments, thread index, acknowledgements',
    sqlite: `
CREATE TABLE tickets (
  id TEXT PRIMARY KEY,
  number INTEGER NOT NULL UNIQUE,
  origin_key TEXT NOT NULL UNIQUE,
  subject TEXT NOT NULL,
  requester TEXT NOT NULL,
  queue TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' ${CHECKS.status},
  created TEXT NOT NULL,
  updated TEXT NOT NULL
);
CREATE TABLE comments (
  id TEXT PRIMARY KEY,
  ticket_id TEXT NOT NULL REFERENCES tickets (id),
  message_id TEXT NOT NULL,
  author TEXT NOT NULL,
  text TEXT NOT NULL,
  html TEXT,
  internal INTEGER NOT NULL CHECK (internal IN (0, 1)),
  created TEXT NOT NULL,
  UNIQUE (ticket_id, message_id)
);
CREATE TABLE attachments (
  id TEXT PRIMARY KEY,
  comment_id TEXT NOT NULL REFERENCES comments (id),
  position INTEGER NOT NULL,
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  sha256 TEXT NOT NULL,
  storage_key TEXT,
  scan_status TEXT NOT NULL ${CHECKS.scan},
  scan_detail TEXT,
  content_id TEXT,
  inline INTEGER NOT NULL CHECK (inline IN (0, 1)),
  UNIQUE (comment_id, position)
);
CREATE TABLE thread_index (
  message_id TEXT NOT NULL,
  ticket_id TEXT NOT NULL REFERENCES tickets (id),
  queue TEXT NOT NULL,
  kind TEXT NOT NULL ${CHECKS.kind},
  created TEXT NOT NULL,
  PRIMARY KEY (message_id, ticket_id)
);
CREATE TABLE acknowledgements (
  workflow_id TEXT PRIMARY KEY,
  ticket_id TEXT NOT NULL REFERENCES tickets (id),
  message_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  state TEXT NOT NULL ${CHECKS.ack},
  created TEXT NOT NULL,
  sent_at TEXT
);
${LISTING_INDEXES}`,
    postgres: `
CREATE TABLE tickets (
  id text PRIMARY KEY,
  number integer GENERATED ALWAYS AS IDENTITY UNIQUE,
  origin_key text NOT NULL UNIQUE,
  subject text NOT NULL,
  requester text NOT NULL,
  queue text NOT NULL,
  status text NOT NULL DEFAULT 'open' ${CHECKS.status},
  created timestamptz(3) NOT NULL,
  updated timestamptz(3) NOT NULL
);
CREATE TABLE comments (
  id text PRIMARY KEY,
  -- Orders comments stored within the same millisecond (SQLite uses its implicit rowid).
  seq bigint GENERATED ALWAYS AS IDENTITY,
  ticket_id text NOT NULL REFERENCES tickets (id),
  message_id text NOT NULL,
  author text NOT NULL,
  text text NOT NULL,
  html text,
  internal boolean NOT NULL,
  created timestamptz(3) NOT NULL,
  UNIQUE (ticket_id, message_id)
);
CREATE TABLE attachments (
  id text PRIMARY KEY,
  comment_id text NOT NULL REFERENCES comments (id),
  position integer NOT NULL,
  filename text NOT NULL,
  content_type text NOT NULL,
  size integer NOT NULL CHECK (size >= 0),
  sha256 text NOT NULL,
  storage_key text,
  scan_status text NOT NULL ${CHECKS.scan},
  scan_detail text,
  content_id text,
  inline boolean NOT NULL,
  UNIQUE (comment_id, position)
);
CREATE TABLE thread_index (
  message_id text NOT NULL,
  ticket_id text NOT NULL REFERENCES tickets (id),
  queue text NOT NULL,
  kind text NOT NULL ${CHECKS.kind},
  created timestamptz(3) NOT NULL,
  PRIMARY KEY (message_id, ticket_id)
);
CREATE TABLE acknowledgements (
  workflow_id text PRIMARY KEY,
  ticket_id text NOT NULL REFERENCES tickets (id),
  message_id text NOT NULL,
  recipient text NOT NULL,
  state text NOT NULL ${CHECKS.ack},
  created timestamptz(3) NOT NULL,
  sent_at timestamptz(3)
);
${LISTING_INDEXES}`,
  },
  {
    version: 2,
    name: 'priority, tags, linked and extra queues; rate events, undeliverable addresses, email records',
    // ADD COLUMN keeps existing rows: they take the defaults ('normal', no tags, no link). SQLite
    // accepts a REFERENCES column here only because its default is NULL. The acknowledgements index
    // serves isParticipant, which looks recipients up by ticket.
    sqlite: `
ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal' ${CHECKS.priority};
ALTER TABLE tickets ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tickets ADD COLUMN linked_ticket_id TEXT REFERENCES tickets (id);
CREATE TABLE ticket_queues (
  ticket_id TEXT NOT NULL REFERENCES tickets (id),
  queue TEXT NOT NULL,
  PRIMARY KEY (ticket_id, queue)
);
CREATE TABLE rate_events (
  key TEXT NOT NULL,
  event_id TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (key, event_id)
);
CREATE INDEX rate_events_window ON rate_events (key, at);
CREATE INDEX acknowledgements_ticket ON acknowledgements (ticket_id);
CREATE TABLE undeliverable (
  address TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  created TEXT NOT NULL
);
CREATE TABLE emails (
  workflow_id TEXT PRIMARY KEY,
  message_id TEXT,
  queue TEXT NOT NULL,
  sender TEXT,
  subject TEXT NOT NULL,
  email_class TEXT NOT NULL ${CHECKS.emailClass},
  evidence TEXT NOT NULL,
  outcome TEXT NOT NULL ${CHECKS.outcome},
  reason TEXT,
  ticket_id TEXT,
  created TEXT NOT NULL,
  updated TEXT NOT NULL
);`,
    postgres: `
ALTER TABLE tickets
  ADD COLUMN priority text NOT NULL DEFAULT 'normal' ${CHECKS.priority},
  ADD COLUMN tags text NOT NULL DEFAULT '[]',
  ADD COLUMN linked_ticket_id text REFERENCES tickets (id);
CREATE TABLE ticket_queues (
  ticket_id text NOT NULL REFERENCES tickets (id),
  queue text NOT NULL,
  PRIMARY KEY (ticket_id, queue)
);
CREATE TABLE rate_events (
  key text NOT NULL,
  event_id text NOT NULL,
  at timestamptz(3) NOT NULL,
  PRIMARY KEY (key, event_id)
);
CREATE INDEX rate_events_window ON rate_events (key, at);
CREATE INDEX acknowledgements_ticket ON acknowledgements (ticket_id);
CREATE TABLE undeliverable (
  address text PRIMARY KEY,
  reason text NOT NULL,
  created timestamptz(3) NOT NULL
);
CREATE TABLE emails (
  workflow_id text PRIMARY KEY,
  message_id text,
  queue text NOT NULL,
  sender text,
  subject text NOT NULL,
  email_class text NOT NULL ${CHECKS.emailClass},
  evidence text NOT NULL,
  outcome text NOT NULL ${CHECKS.outcome},
  reason text,
  ticket_id text,
  created timestamptz(3) NOT NULL,
  updated timestamptz(3) NOT NULL
);`,
  },
  {
    version: 3,
    name: 'claims: keys that may be used once (ingress request signatures)',
    sqlite: `
CREATE TABLE claims (
  key TEXT PRIMARY KEY,
  at TEXT NOT NULL
);
CREATE INDEX claims_at ON claims (at);`,
    postgres: `
CREATE TABLE claims (
  key text PRIMARY KEY,
  at timestamptz(3) NOT NULL
);
CREATE INDEX claims_at ON claims (at);`,
  },
  {
    version: 4,
    name: "attachments: the scan status 'unscannable'",
    // SQLite cannot alter a CHECK constraint: the table is rebuilt (nothing references it) and its
    // index recreated. PostgreSQL names a column's CHECK <table>_<column>_check.
    sqlite: `
CREATE TABLE attachments_v4 (
  id TEXT PRIMARY KEY,
  comment_id TEXT NOT NULL REFERENCES comments (id),
  position INTEGER NOT NULL,
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  sha256 TEXT NOT NULL,
  storage_key TEXT,
  scan_status TEXT NOT NULL ${CHECKS.scanWithUnscannable},
  scan_detail TEXT,
  content_id TEXT,
  inline INTEGER NOT NULL CHECK (inline IN (0, 1)),
  UNIQUE (comment_id, position)
);
INSERT INTO attachments_v4 (id, comment_id, position, filename, content_type, size, sha256, storage_key, scan_status, scan_detail, content_id, inline)
  SELECT id, comment_id, position, filename, content_type, size, sha256, storage_key, scan_status, scan_detail, content_id, inline FROM attachments;
DROP TABLE attachments;
ALTER TABLE attachments_v4 RENAME TO attachments;
CREATE INDEX attachments_comment ON attachments (comment_id, position);`,
    postgres: `
ALTER TABLE attachments DROP CONSTRAINT attachments_scan_status_check;
ALTER TABLE attachments ADD CONSTRAINT attachments_scan_status_check ${CHECKS.scanWithUnscannable};`,
  },
  {
    version: 5,
    name: 'message_id_clashes: different messages under one Message-ID, noted on both emails',
    sqlite: `
CREATE TABLE message_id_clashes (
  workflow_id TEXT NOT NULL,
  other_workflow_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  created TEXT NOT NULL,
  PRIMARY KEY (workflow_id, other_workflow_id)
);`,
    postgres: `
CREATE TABLE message_id_clashes (
  workflow_id text NOT NULL,
  other_workflow_id text NOT NULL,
  message_id text NOT NULL,
  created timestamptz(3) NOT NULL,
  PRIMARY KEY (workflow_id, other_workflow_id)
);`,
  },
  {
    version: 6,
    name: 'undeliverable marks expire; participants recorded from To/Cc; acknowledgements by Message-ID',
    // Issue 12: a mark used to last forever. Marks made before this version get 30 days from when
    // they were made (UNDELIVERABLE_MARK_DAYS' default), so none of them lasts forever either.
    // Participants are stored by mailbox (src/domain/mailbox.ts), so the lookup is one equality.
    sqlite: `
ALTER TABLE undeliverable ADD COLUMN expires TEXT;
UPDATE undeliverable SET expires = strftime('%Y-%m-%dT%H:%M:%fZ', created, '+30 days') WHERE expires IS NULL;
CREATE INDEX undeliverable_newest ON undeliverable (created DESC, address);
CREATE TABLE participants (
  ticket_id TEXT NOT NULL REFERENCES tickets (id),
  mailbox TEXT NOT NULL,
  created TEXT NOT NULL,
  PRIMARY KEY (ticket_id, mailbox)
);
CREATE INDEX acknowledgements_message_id ON acknowledgements (message_id);`,
    postgres: `
ALTER TABLE undeliverable ADD COLUMN expires timestamptz(3);
UPDATE undeliverable SET expires = created + interval '30 days' WHERE expires IS NULL;
ALTER TABLE undeliverable ALTER COLUMN expires SET NOT NULL;
CREATE INDEX undeliverable_newest ON undeliverable (created DESC, address);
CREATE TABLE participants (
  ticket_id text NOT NULL REFERENCES tickets (id),
  mailbox text NOT NULL,
  created timestamptz(3) NOT NULL,
  PRIMARY KEY (ticket_id, mailbox)
);
CREATE INDEX acknowledgements_message_id ON acknowledgements (message_id);`,
  },
  {
    version: 7,
    name: 'retention and erasure: the raw message of each email record, erasure audit records',
    // raw_sha256 stays NULL on records written before this version: retention then goes by the
    // object's age alone. The audit keeps counts and a keyed digest of the requester, never content.
    sqlite: `
ALTER TABLE emails ADD COLUMN raw_sha256 TEXT;
CREATE INDEX emails_raw ON emails (raw_sha256, updated);
CREATE INDEX emails_updated ON emails (updated);
CREATE INDEX emails_sender ON emails (sender);
CREATE TABLE erasures (
  id TEXT PRIMARY KEY,
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  subject_digest TEXT NOT NULL,
  dry_run INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
  counts TEXT NOT NULL,
  completed_at TEXT NOT NULL
);
CREATE INDEX erasures_subject ON erasures (subject_digest);`,
    postgres: `
ALTER TABLE emails ADD COLUMN raw_sha256 text;
CREATE INDEX emails_raw ON emails (raw_sha256, updated);
CREATE INDEX emails_updated ON emails (updated);
CREATE INDEX emails_sender ON emails (sender);
CREATE TABLE erasures (
  id text PRIMARY KEY,
  requested_by text NOT NULL,
  requested_at timestamptz(3) NOT NULL,
  subject_digest text NOT NULL,
  dry_run boolean NOT NULL,
  counts text NOT NULL,
  completed_at timestamptz(3) NOT NULL
);
CREATE INDEX erasures_subject ON erasures (subject_digest);`,
  },
  {
    version: 8,
    name: 'claims: the answer given to the request that made the claim (ingress retries)',
    // NULL while the request is in flight (and on claims made before this version). Claims are
    // forgotten after twice the signature window, so the answers go with them.
    sqlite: `ALTER TABLE claims ADD COLUMN answer TEXT;`,
    postgres: `ALTER TABLE claims ADD COLUMN answer text;`,
  },
  {
    version: 9,
    name: 'ticket moves (reprocess --queue); email records of emails failed or discarded before classification',
    // No foreign key to tickets: erasure deletes a ticket's moves with it (retention-store.ts), and
    // the ledger keeps its own rows apart from any helpdesk's. One row per move a run made.
    // email_class may be NULL: an email that failed or was discarded while parked at parsing has a
    // record too (issue 13). SQLite cannot drop NOT NULL in place, so the table is copied; a CHECK
    // on NULL passes in both databases.
    sqlite: `
CREATE TABLE emails_v9 (
  workflow_id TEXT PRIMARY KEY,
  message_id TEXT,
  queue TEXT NOT NULL,
  sender TEXT,
  subject TEXT NOT NULL,
  email_class TEXT ${CHECKS.emailClass},
  evidence TEXT NOT NULL,
  outcome TEXT NOT NULL ${CHECKS.outcome},
  reason TEXT,
  ticket_id TEXT,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  raw_sha256 TEXT
);
INSERT INTO emails_v9 (workflow_id, message_id, queue, sender, subject, email_class, evidence, outcome, reason, ticket_id, created, updated, raw_sha256)
  SELECT workflow_id, message_id, queue, sender, subject, email_class, evidence, outcome, reason, ticket_id, created, updated, raw_sha256 FROM emails;
DROP TABLE emails;
ALTER TABLE emails_v9 RENAME TO emails;
CREATE INDEX emails_raw ON emails (raw_sha256, updated);
CREATE INDEX emails_updated ON emails (updated);
CREATE INDEX emails_sender ON emails (sender);
CREATE TABLE ticket_moves (
  ticket_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  to_queue TEXT NOT NULL,
  from_queue TEXT NOT NULL,
  moved_by TEXT NOT NULL,
  created TEXT NOT NULL,
  PRIMARY KEY (ticket_id, workflow_id, to_queue)
);`,
    postgres: `
ALTER TABLE emails ALTER COLUMN email_class DROP NOT NULL;
CREATE TABLE ticket_moves (
  ticket_id text NOT NULL,
  workflow_id text NOT NULL,
  to_queue text NOT NULL,
  from_queue text NOT NULL,
  moved_by text NOT NULL,
  created timestamptz(3) NOT NULL,
  PRIMARY KEY (ticket_id, workflow_id, to_queue)
);`,
  },
  {
    version: 10,
    name: 'subject index: threading a header-less reply by subject and participant (issue 14, rules option threadBySubject)',
    // The key is a digest of the normalised subject, never its text. last_at is the time of the
    // ticket's latest message under any subject, so the window runs from the ticket's last message.
    // Tickets before this version have no rows: the rule cannot find them, which only means a split.
    sqlite: `
CREATE TABLE subject_index (
  ticket_id TEXT NOT NULL REFERENCES tickets (id),
  subject_key TEXT NOT NULL,
  last_at TEXT NOT NULL,
  PRIMARY KEY (ticket_id, subject_key)
);
CREATE INDEX subject_index_key ON subject_index (subject_key, last_at);`,
    postgres: `
CREATE TABLE subject_index (
  ticket_id text NOT NULL REFERENCES tickets (id),
  subject_key text NOT NULL,
  last_at timestamptz(3) NOT NULL,
  PRIMARY KEY (ticket_id, subject_key)
);
CREATE INDEX subject_index_key ON subject_index (subject_key, last_at);`,
  },
  {
    version: 11,
    name: 'poll cursors: IMAP mailboxes (UIDVALIDITY, last UID) and provider event APIs (since) (issue 17)',
    // One row per poller and mailbox; a poller's one workflow is its only writer. last_uid is a
    // 32-bit unsigned UID (RFC 9051 §2.3.1.1), beyond PostgreSQL's integer, hence bigint.
    sqlite: `
CREATE TABLE mailbox_cursors (
  account TEXT NOT NULL,
  mailbox TEXT NOT NULL,
  uid_validity TEXT NOT NULL,
  last_uid INTEGER NOT NULL CHECK (last_uid >= 0),
  updated TEXT NOT NULL,
  PRIMARY KEY (account, mailbox)
);
CREATE TABLE since_cursors (
  source TEXT PRIMARY KEY,
  since TEXT NOT NULL,
  updated TEXT NOT NULL
);`,
    postgres: `
CREATE TABLE mailbox_cursors (
  account text NOT NULL,
  mailbox text NOT NULL,
  uid_validity text NOT NULL,
  last_uid bigint NOT NULL CHECK (last_uid >= 0),
  updated timestamptz(3) NOT NULL,
  PRIMARY KEY (account, mailbox)
);
CREATE TABLE since_cursors (
  source text PRIMARY KEY,
  since text NOT NULL,
  updated timestamptz(3) NOT NULL
);`,
  },
  {
    version: 12,
    name: 'deliveries: a ticket or comment handed to a helpdesk connector, in flight or done (issue 18)',
    // message_id is '' for the ticket itself, so the key is one plain primary key in both dialects.
    // No foreign key to tickets: a ticket's erasure must not be blocked by its delivery record.
    sqlite: `
CREATE TABLE deliveries (
  connector TEXT NOT NULL,
  ticket_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
  external_id TEXT,
  owner TEXT NOT NULL,
  lease_until TEXT NOT NULL,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  PRIMARY KEY (connector, ticket_id, message_id)
);`,
    postgres: `
CREATE TABLE deliveries (
  connector text NOT NULL,
  ticket_id text NOT NULL,
  message_id text NOT NULL,
  state text NOT NULL CHECK (state IN ('in_flight', 'done')),
  external_id text,
  owner text NOT NULL,
  lease_until timestamptz(3) NOT NULL,
  created timestamptz(3) NOT NULL,
  updated timestamptz(3) NOT NULL,
  PRIMARY KEY (connector, ticket_id, message_id)
);`,
  },
  {
    version: 13,
    name: 'notifications: each chat message or page sent once, Slack threads and pages to resolve (issue 19)',
    // No foreign key to tickets: a vendor helpdesk's ticket ids are not in the built-in table.
    sqlite: `
CREATE TABLE notifications (
  key TEXT PRIMARY KEY,
  ticket_id TEXT,
  target TEXT NOT NULL,
  kind TEXT NOT NULL,
  ref TEXT,
  created TEXT NOT NULL,
  resolved TEXT
);
CREATE INDEX notifications_ticket ON notifications (ticket_id, created);`,
    postgres: `
CREATE TABLE notifications (
  key text PRIMARY KEY,
  ticket_id text,
  target text NOT NULL,
  kind text NOT NULL,
  ref text,
  created timestamptz(3) NOT NULL,
  resolved timestamptz(3),
  seq bigserial NOT NULL
);
CREATE INDEX notifications_ticket ON notifications (ticket_id, created);`,
  },
  {
    version: 14,
    name: 'web view: agent sessions, ticket assignee, audit of what signed-in users did (issue 20)',
    // A session row holds a digest of the cookie's id, never the id: a copy of the database signs
    // no one in. The CSRF token is the session's synchronizer token (OWASP), compared per form.
    sqlite: `
ALTER TABLE tickets ADD COLUMN assignee TEXT;
CREATE TABLE web_sessions (
  id_sha256 TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  created TEXT NOT NULL,
  expires TEXT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires);
CREATE TABLE web_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  username TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL
);`,
    postgres: `
ALTER TABLE tickets ADD COLUMN assignee text;
CREATE TABLE web_sessions (
  id_sha256 text PRIMARY KEY,
  username text NOT NULL,
  csrf_token text NOT NULL,
  created timestamptz(3) NOT NULL,
  expires timestamptz(3) NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires);
CREATE TABLE web_audit (
  id bigserial PRIMARY KEY,
  at timestamptz(3) NOT NULL,
  username text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  detail text NOT NULL
);`,
  },
];

/** Versions not yet in `applied`, in order. */
export function pendingMigrations(applied: ReadonlySet<number>): Migration[] {
  return MIGRATIONS.filter((m) => !applied.has(m.version)).sort((a, b) => a.version - b.version);
}
