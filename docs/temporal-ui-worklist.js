/* global localStorage, location */
// Mailgate's worklist in the Temporal Web UI (checked against UI 2.54 by
// test/integration/temporal-ui.test.ts). The UI keeps the workflow list's columns and its saved
// views in the browser's localStorage; no server setting exists. Open the UI on the namespace
// Mailgate uses, paste this file into the browser's developer console once, and reload: the list
// shows each email's status, subject, sender, queue, ticket and class, and the saved views list the
// parked and failed emails. Columns and views set by hand for other namespaces are kept.
(() => {
  const namespace = decodeURIComponent(location.pathname.split('/')[2] || 'default');
  const columns = ['EmailStatus', 'EmailSubject', 'EmailSender', 'RecipientQueue', 'TicketId', 'EmailClass', 'ParkedStep', 'ErrorType', 'Status', 'Start', 'Workflow ID'];
  const views = [
    { id: 'mailgate-parked', name: 'Mailgate: parked emails', query: '`EmailStatus`="parked"' },
    { id: 'mailgate-failed', name: 'Mailgate: failed emails', query: '`EmailStatus`="failed"' },
    { id: 'mailgate-open', name: 'Mailgate: emails in progress', query: '`WorkflowType`="processInboundEmail" AND `ExecutionStatus`="Running"' },
  ];
  const read = (key) => {
    try {
      return JSON.parse(localStorage.getItem(key) || '{}') || {};
    } catch {
      return {};
    }
  };
  const tables = read('namespace-workflow-table-columns');
  // The UI pins at most two columns: status and subject stay in view while scrolling sideways.
  tables[namespace] = columns.map((label, i) => ({ label, pinned: i < 2 }));
  localStorage.setItem('namespace-workflow-table-columns', JSON.stringify(tables));
  const saved = read('saved-workflow-queries');
  const others = (saved[namespace] || []).filter((view) => !views.some((v) => v.id === view.id));
  saved[namespace] = [...others, ...views.map((view) => ({ ...view, type: 'user' }))];
  localStorage.setItem('saved-workflow-queries', JSON.stringify(saved));
  return `Mailgate's columns and saved views are set for namespace ${namespace}: reload the page`;
})();
