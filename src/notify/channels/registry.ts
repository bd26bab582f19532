// The one registry of notification channels: a factory per channel type of the policy schema, checked
// exhaustive at compile time (`satisfies`), and the one place channels are built from the policy.
// Adding a channel type: its schema branch in policy/schema.ts, its file here in channels/, one line
// below (tsc fails until it is there), and a case in test/notify/channel-contract.test.ts.
//
// A channel that cannot be built (a secret that is not set, a CA file that cannot be read) does not
// stop Drydock: it stands in the map as a channel whose every send fails with the reason, so each
// message for it is a recorded failed delivery, never silently dropped.
import type { Logger } from 'pino';
import { describeError } from '../../errors.js';
import type { ChannelConfig, Policy } from '../../policy/schema.js';
import type { Channel } from '../types.js';
import { createEmailChannel } from './email.js';
import { createLogChannel } from './log.js';
import { createSlackChannel } from './slack.js';
import { createSmsChannel } from './sms.js';
import { createStatusPageChannel, type StatusPagePublisher } from './status-page.js';
import { createWebhookChannel } from './webhook.js';

export type ChannelType = ChannelConfig['type'];

export interface ChannelDeps {
  /** Drydock's own log (the `log` channel). */
  logger: Logger;
  /** Where secrets named as {env: NAME} are read. */
  env: NodeJS.ProcessEnv;
  /** Where status-page notices go (the windows store). */
  statusPage: StatusPagePublisher;
}

type Factory<T extends ChannelType> = (
  name: string,
  config: Extract<ChannelConfig, { type: T }>,
  deps: ChannelDeps,
) => Channel;

export const CHANNEL_FACTORIES = {
  log: (name, _config, deps) => createLogChannel(name, deps.logger),
  webhook: (name, config, deps) => createWebhookChannel(name, config, deps.env),
  email: (name, config, deps) => createEmailChannel(name, config, deps.env),
  sms: (name, config, deps) => createSmsChannel(name, config, deps.env),
  slack: (name, config, deps) => createSlackChannel(name, config, deps.env),
  status_page: (name, _config, deps) => createStatusPageChannel(name, deps.statusPage),
} satisfies { [T in ChannelType]: Factory<T> };

/** Builds one channel; a channel that cannot be built fails every send with the reason. */
function buildChannel(name: string, config: ChannelConfig, deps: ChannelDeps): Channel {
  const factory = CHANNEL_FACTORIES[config.type] as Factory<ChannelType>;
  try {
    return factory(name, config, deps);
  } catch (error) {
    return unbuildableChannel(name, config.type, describeError(error));
  }
}

function unbuildableChannel(name: string, type: string, reason: string): Channel & { broken: string } {
  const detail = `channel "${name}" cannot be built: ${reason}`;
  return {
    name,
    type,
    broken: detail,
    async send() {
      return { ok: false, detail, retryable: false };
    },
  };
}

export interface ChannelSet {
  channels: ReadonlyMap<string, Channel>;
  /** Why each channel that could not be built cannot send (printed by `drydock start` and `config check`). */
  problems: string[];
}

/** Every channel the policy defines, by name (the built-in `log` included). */
export function buildChannels(policy: Policy, deps: ChannelDeps): ChannelSet {
  const channels = new Map<string, Channel>();
  const problems: string[] = [];
  for (const [name, config] of Object.entries(policy.channels)) {
    const channel = buildChannel(name, config, deps);
    if ('broken' in channel && typeof channel.broken === 'string') problems.push(channel.broken);
    channels.set(name, channel);
  }
  return { channels, problems };
}
