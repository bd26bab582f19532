// The ordered list of SQLite migrations. A static list (no directory scan) so the build needs no
// copied files and a test can check the numbering. Feature areas add their own numbered files:
// 010-019 metrics/alerts, 020-029 backups, 030-039 windows/notifications, 040-049 access,
// 050-059 network, 060-069 security findings and compliance, 070-079 dependencies.
import { sql as core } from './001-core.js';
import { sql as metrics } from './010-metrics.js';
import { sql as alerts } from './011-alerts.js';
import { sql as metricsPointsIndex } from './012-metrics-points-index.js';
import { sql as backups } from './020-backups.js';
import { sql as windows } from './030-windows.js';
import { sql as access } from './040-access.js';
import { sql as network } from './050-network.js';
import { sql as security } from './060-security.js';
import { sql as dependencies } from './070-dependencies.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: 'core', sql: core },
  { version: 10, name: 'metrics', sql: metrics },
  { version: 11, name: 'alerts', sql: alerts },
  { version: 12, name: 'metrics-points-index', sql: metricsPointsIndex },
  { version: 20, name: 'backups', sql: backups },
  { version: 30, name: 'windows', sql: windows },
  { version: 40, name: 'access', sql: access },
  { version: 50, name: 'network', sql: network },
  { version: 60, name: 'security', sql: security },
  { version: 70, name: 'dependencies', sql: dependencies },
];
