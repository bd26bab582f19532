// One table of who may call what: method + path pattern → what it needs. The access middleware
// (src/access/middleware.ts) checks every request against it, and a request no rule covers is refused;
// test/access/rules.test.ts fails when a route of the API has no rule here.
//   public    anyone (the status page, /healthz)
//   metrics   /metrics: its own bearer/basic credentials when http.metrics_auth is set, else public
//   viewer    any signed-in person (reads; secrets are never in what is served)
//   operator  run a task, cancel a run, silence alerts, schedule and update windows
//   approver  holds an approval role the policy names (maintenance_windows.emergency.approval)
//   admin     issue, list and revoke tokens
import type { AccessRule } from '../access/middleware.js';

export const ACCESS_RULES: readonly AccessRule[] = [
  { method: 'GET', path: '/healthz', need: 'public' },
  { method: 'GET', path: '/status', need: 'public' },
  { method: 'GET', path: '/status/*', need: 'public' },
  { method: 'GET', path: '/metrics', need: 'metrics' },

  { method: 'GET', path: '/', need: 'viewer' },
  { method: 'GET', path: '/api/tasks', need: 'viewer' },
  { method: 'GET', path: '/api/runs', need: 'viewer' },
  { method: 'GET', path: '/api/runs/:id', need: 'viewer' },
  { method: 'GET', path: '/api/status', need: 'viewer' },
  { method: 'GET', path: '/api/plan', need: 'viewer' },
  { method: 'GET', path: '/api/activity', need: 'viewer' },
  { method: 'GET', path: '/api/metrics/series', need: 'viewer' },
  { method: 'GET', path: '/api/metrics/read', need: 'viewer' },
  { method: 'GET', path: '/api/alerts', need: 'viewer' },
  { method: 'GET', path: '/api/alerts/history', need: 'viewer' },
  { method: 'GET', path: '/api/silences', need: 'viewer' },
  { method: 'GET', path: '/api/approvals/windows/:id', need: 'viewer' },
  { method: 'GET', path: '/api/approvals/patches', need: 'viewer' },
  { method: 'GET', path: '/api/whoami', need: 'viewer' },
  // A token holder exchanges their token for a browser session (cookie + CSRF token), and ends it.
  { method: 'POST', path: '/api/session', need: 'viewer' },
  { method: 'DELETE', path: '/api/session', need: 'viewer' },

  { method: 'POST', path: '/api/silences', need: 'operator' },
  { method: 'DELETE', path: '/api/silences/:id', need: 'operator' },
  { method: 'POST', path: '/api/tasks/:id/run', need: 'operator' },
  { method: 'POST', path: '/api/runs/:id/cancel', need: 'operator' },
  { method: 'POST', path: '/api/windows', need: 'operator' },
  { method: 'POST', path: '/api/windows/:id/reschedule', need: 'operator' },
  { method: 'POST', path: '/api/windows/:id/cancel', need: 'operator' },
  // Status updates: any signed-in person reaches the service, which accepts only the window's owner or standby.
  { method: 'POST', path: '/api/approvals/windows/:id/updates', need: 'viewer' },

  { method: 'POST', path: '/api/approvals/windows/:id/approve', need: 'approver' },
  { method: 'POST', path: '/api/approvals/windows/:id/refuse', need: 'approver' },
  { method: 'POST', path: '/api/approvals/patches/:id/approve', need: 'approver' },
  { method: 'POST', path: '/api/approvals/patches/:id/refuse', need: 'approver' },

  { method: 'GET', path: '/api/tokens', need: 'admin' },
  { method: 'POST', path: '/api/tokens', need: 'admin' },
  { method: 'DELETE', path: '/api/tokens/:which', need: 'admin' },
];
