// Alerts are silenced while a declared maintenance window covers their component. A window lists
// status-page components ("Database", "API"); an alert component is "postgres:host:port/db",
// "redis:host:port" or "host". A window silences an alert component when it lists that exact
// component, or its kind (postgres, redis, host), or a status-page name mapped to that kind below.
import type { SilenceSource } from '../alerts/silences.js';
import type { WindowStore } from '../store/sqlite/windows.js';

const KIND_ALIASES: Record<string, string[]> = {
  postgres: ['postgres', 'postgresql', 'database', 'db'],
  redis: ['redis', 'cache'],
  host: ['host', 'server', 'servers', 'api'],
};

export function windowCovers(windowComponents: readonly string[], alertComponent: string): boolean {
  const kind = alertComponent.split(':')[0]!.toLowerCase();
  const names = windowComponents.map((c) => c.toLowerCase());
  if (names.includes(alertComponent.toLowerCase())) return true;
  return (KIND_ALIASES[kind] ?? [kind]).some((alias) => names.includes(alias));
}

export function windowSilenceSource(store: WindowStore): SilenceSource {
  return (component, at) => {
    const open = store.list({ from: at, statuses: ['in_progress'] }).filter((w) => w.start <= at && at < w.end);
    const covering = open.find((w) => windowCovers(w.change.components, component));
    return covering ? `maintenance window #${covering.id} (${covering.title}) in progress` : null;
  };
}
