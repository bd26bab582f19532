// Builds issue 5's channel types from the policy (email, sms, slack, status_page). Returns null
// for the types the core notifier builds itself (log, webhook).
import type { ChannelConfig } from '../../policy/schema.js';
import type { Channel } from '../types.js';
import { createEmailChannel } from './email.js';
import { createSlackChannel } from './slack.js';
import { createSmsChannel } from './sms.js';
import { createStatusPageChannel, type StatusPagePublisher } from './status-page.js';

export interface StakeholderChannelDeps {
  /** Where status-page notices go (the windows service's store). Without it, status_page channels are not built. */
  statusPage?: StatusPagePublisher;
  env?: NodeJS.ProcessEnv;
}

export function createStakeholderChannel(
  name: string,
  config: ChannelConfig,
  deps: StakeholderChannelDeps = {},
): Channel | null {
  switch (config.type) {
    case 'email':
      return createEmailChannel(name, config, deps.env);
    case 'sms':
      return createSmsChannel(name, config, deps.env);
    case 'slack':
      return createSlackChannel(name, config, deps.env);
    case 'status_page':
      return deps.statusPage ? createStatusPageChannel(name, deps.statusPage) : null;
    default:
      return null;
  }
}
