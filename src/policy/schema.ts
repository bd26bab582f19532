// The policy: one zod schema whose defaults are exactly Dokkerr's maintenance procedures
// (spec/maintenance-procedures.md). It gives the TypeScript types, the validation, the JSON Schema
// (`drydock config schema`) and `drydock config print --defaults`. Parsing resolves every phrase into
// its typed value (fields.ts), so `Policy`, the parsed result, is the resolved policy the rest of the
// code receives; `PolicyInput` is what a policy file holds.
//
// How a policy file combines with the defaults (README "The policy"): a mapping merges key by key
// into the defaults; a list replaces the default list whole; a named entry (a channel, a blackout
// definition) replaces the built-in entry of the same name and leaves the other built-in entries.
// Values the spec does not give (times of day for "daily" tasks, which day "weekly" means, ...)
// are chosen here and listed in the README under "Where the spec is silent".
import { z } from 'zod';
import {
  bool,
  byteSize,
  calendarDate,
  duration,
  frequency,
  identifier,
  int,
  interval,
  list,
  monthDay,
  namedEntries,
  noticeTiming,
  percent,
  positiveDuration,
  str,
  threshold,
  timeOfDay,
  timeRange,
  versions,
  weekday,
} from './fields.js';
import { httpAccessFields } from './http-access.js';
import { DEFAULT_ALLOWED_PREFIXES } from './cleanup-roots.js';
import { networkDnsPolicy } from './network-dns.js';
import { networkFirewallPolicy } from './network-firewall.js';
import { tlsRenewalFields, tlsValidationFields } from './network-tls.js';
import { advisoriesSection, complianceFields, exceptionsField, vulnerabilityScanFields } from './security-scans.js';
import {
  dockerPolicyFields,
  dockerScanFields,
  npmPolicyFields,
  npmSecurityFields,
  systemPolicyFields,
} from './dependencies.js';
import { isCredentialHeader, urlCredentialProblem } from './webhook-secrets.js';

// prefault({}) parses an absent section as {} so the defaults inside it apply.
const obj = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape).prefault({} as never);

/** A secret is named, never written inline: an environment variable or a file. */
const secretRef = z
  .strictObject({
    env: str('an environment variable name').optional(),
    file: str('a file path').optional(),
  })
  .refine((s) => Boolean(s.env) !== Boolean(s.file), { message: 'expected exactly one of "env" or "file"' })
  .meta({ description: 'Where a secret comes from: {env: NAME} or {file: /path}. Secrets are never written inline.' });

const scheduleFields = {
  frequency: frequency(),
  time: timeOfDay().optional(),
  day: weekday().optional(),
  day_of_month: z.union([int(1).max(28), z.literal('last')]).optional(),
};

const tableList = list(identifier('a table name'));

const postgresTarget = obj({
  host: str('a host name').default('127.0.0.1'),
  port: int(1).max(65535).default(5432),
  database: identifier('a database name').default('dokkerr'),
  user: str('a user name').default('postgres'),
  password: secretRef.optional(),
  connect_timeout: duration().prefault('5 seconds'),
  /** Database to connect to when creating the demo database. */
  maintenance_database: identifier('a database name').default('postgres'),
});

const redisTarget = obj({
  host: str('a host name').default('127.0.0.1'),
  port: int(1).max(65535).default(6379),
  username: str().optional(),
  password: secretRef.optional(),
  connect_timeout: duration().prefault('5 seconds'),
});

const retry = obj({
  attempts: int(1).max(20).default(3).meta({ description: 'Total attempts, the first included.' }),
  backoff: duration().prefault('1 minute').meta({ description: 'Wait before the second attempt; doubles each time.' }),
  max_backoff: duration().prefault('30 minutes'),
});

const channel = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('log') }),
  z
    .strictObject({
      type: z.literal('webhook'),
      /** A URL, or a secret reference when the URL itself carries a credential (a token in its path or query). */
      url: z.union([str('a URL').url({ message: 'expected an http(s) URL' }), secretRef]),
      /** Slack-compatible payload ({text}) or Drydock's own JSON. */
      format: z.enum(['json', 'slack']).default('json'),
      /** Extra headers; one that carries a credential (Authorization, *-token, *-key) must be a secret reference. */
      headers: z.record(z.string(), z.union([z.string(), secretRef])).prefault({}),
      /** Sent as `Authorization: Bearer <token>` when set. */
      token: secretRef.optional(),
      timeout: duration().prefault('10 seconds'),
    })
    .superRefine((webhook, ctx) => {
      if (typeof webhook.url === 'string') {
        const problem = urlCredentialProblem(webhook.url);
        if (problem)
          ctx.addIssue({
            code: 'custom',
            path: ['url'],
            message: `${problem}: write it as a secret reference, {env: NAME} or {file: /path}`,
          });
      }
      for (const [name, value] of Object.entries(webhook.headers))
        if (typeof value === 'string' && isCredentialHeader(name))
          ctx.addIssue({
            code: 'custom',
            path: ['headers', name],
            message: `header ${name} carries a credential: write it as a secret reference, {env: NAME} or {file: /path}`,
          });
    }),
  // Issue 5's channels: email over SMTP, SMS over a Twilio-style HTTP API, Slack incoming webhooks, the status page.
  z.strictObject({
    type: z.literal('email'),
    host: str('a host name'),
    port: int(1).max(65535).default(587),
    /** true: TLS from the first byte (port 465); false: STARTTLS, which `require_tls` makes mandatory. */
    secure: bool().default(false),
    require_tls: bool().default(true),
    user: str('a user name').optional(),
    password: secretRef.optional(),
    from: str('an email address'),
    /** Extra recipients besides the stakeholders who chose this channel. */
    to: list(str('an email address')).prefault([]),
    /** PEM file of a CA to trust (a private SMTP relay). */
    ca_file: str('a file path').optional(),
    timeout: duration().prefault('10 seconds'),
  }),
  z.strictObject({
    type: z.literal('sms'),
    base_url: str('a URL').url({ message: 'expected an http(s) URL' }).default('https://api.twilio.com'),
    account_sid: secretRef,
    auth_token: secretRef,
    from: str('a phone number'),
    to: list(str('a phone number')).prefault([]),
    timeout: duration().prefault('10 seconds'),
  }),
  z.strictObject({
    type: z.literal('slack'),
    url: secretRef.meta({ description: 'The incoming-webhook URL holds its own secret, so it is a secret reference.' }),
    timeout: duration().prefault('10 seconds'),
  }),
  z.strictObject({
    type: z.literal('status_page'),
    /** The public page's heading and <title>. */
    title: str().default('System status'),
    /** Components listed on the page even before any health is recorded. */
    components: list(str('a component name')).prefault([]),
    /** Absolute URL the page is served at, for the Atom feed's links. */
    base_url: str('a URL').url({ message: 'expected an http(s) URL' }).optional(),
  }),
]);

export const policySchema = z
  .strictObject({
    state: obj({
      path: str('a file path')
        .default('.drydock/state.sqlite')
        .meta({ description: 'SQLite state file (relative to the policy file).' }),
    }),
    http: obj({
      host: str('a host name or address').default('127.0.0.1'),
      port: int(0).max(65535).default(8080),
      ...httpAccessFields(secretRef),
    }),
    targets: obj({ postgres: postgresTarget, redis: redisTarget }),
    engine: obj({
      retry,
      /** A missed slot younger than this still runs after a restart; older ones are recorded as missed. */
      misfire_grace: duration().prefault('10 minutes'),
      /** How long a run waits for a table another run holds before it is skipped. */
      lock_wait: duration().prefault('30 minutes'),
      /** A daemon whose heartbeat is older than this is presumed dead; its open runs become interrupted. */
      instance_timeout: duration().prefault('1 minute'),
      shutdown_grace: duration().prefault('30 seconds'),
    }),
    activity_log: obj({ retention: positiveDuration().prefault('400 days') }),
    database: obj({
      vacuum: obj({
        ...scheduleFields,
        frequency: frequency().prefault('daily'),
        time: timeOfDay().prefault('03:00 UTC'),
        tables: tableList.default(['listings', 'bookings', 'messages']),
        options: obj({ full: bool().default(false), analyze: bool().default(true), verbose: bool().default(true) }),
        lock_timeout: duration().prefault('5 seconds'),
        /**
         * VACUUM's throttle (vacuum_cost_delay, 0 to 100 ms). 10 ms keeps the application's p99 within
         * 1.3x while a bloated table is vacuumed (2 ms, autovacuum's default, gave 3x); "0ms" turns it off.
         */
        cost_delay: duration().prefault('10ms'),
      }),
      backup: obj({
        ...scheduleFields,
        frequency: frequency().prefault('daily'),
        retention: duration().prefault('30 days'),
        type: z.enum(['full', 'incremental']).default('incremental'),
        window: obj({ start: timeOfDay().prefault('01:00 UTC'), duration: duration().prefault('2 hours') }),
      }),
      index_rebuild: obj({
        ...scheduleFields,
        frequency: frequency().prefault('weekly'),
        day: weekday().prefault('Sunday'),
        time: timeOfDay().prefault('04:00 UTC'),
        concurrent: bool().default(true),
        tables: obj({
          high_priority: tableList.default(['listings', 'users']),
          normal: tableList.default(['reviews', 'notifications']),
        }),
        lock_timeout: duration().prefault('5 seconds'),
        /** Only B-tree indexes whose estimated bloat reaches this are rebuilt (others without an estimate always are). */
        min_bloat: percent().prefault('20%'),
        /** Wait between two rebuilds, so the application catches up between them. */
        pause: duration().prefault('2 seconds'),
      }),
    }),
    cache: obj({
      eviction: obj({
        ...scheduleFields,
        frequency: frequency().prefault('hourly'),
        threshold: obj({ memory: percent().prefault('80%'), keys: int(1).default(1_000_000) }),
        /** Key prefixes that may be evicted; nothing else is ever touched. */
        evictable_namespaces: list(str('a key prefix')).prefault([]),
        batch_size: int(1).max(10_000).default(200),
      }),
      replication: obj({
        sync_check: frequency().prefault('every 15 minutes'),
        max_lag: duration().prefault('5 seconds'),
        /** Replicas that must be connected ("host:port"); an empty list checks whichever the primary reports. */
        replicas: list(str('a replica as host:port')).prefault([]),
      }),
      backup: obj({
        ...scheduleFields,
        frequency: frequency().prefault('daily'),
        time: timeOfDay().prefault('02:00 UTC'),
        retention: duration().prefault('7 days'),
      }),
      metrics: obj({
        collection: interval().prefault('every 1 minute'),
        retention: duration().prefault('30 days'),
        alerts: obj({
          hit_rate: threshold().prefault('< 80%'),
          memory: threshold().prefault('> 90%'),
          latency: threshold().prefault('> 100ms'),
        }),
        /** Further Redis servers to collect from (the main one is targets.redis). */
        extra_targets: list(redisTarget).prefault([]),
      }),
    }),
    security: obj({
      patches: obj({
        critical: obj({
          sla: duration().prefault('24 hours'),
          approval: z.enum(['automatic', 'required']).default('automatic'),
          notification: noticeTiming().prefault('immediate'),
        }),
        high: obj({
          sla: duration().prefault('72 hours'),
          approval: z.enum(['automatic', 'required']).default('required'),
          notification: noticeTiming().prefault('next business day'),
        }),
        medium: obj({
          sla: duration().prefault('1 week'),
          approval: z.enum(['automatic', 'required']).default('required'),
          notification: noticeTiming().prefault('weekly'),
        }),
      }),
      scans: obj({
        vulnerability: obj({
          ...scheduleFields,
          frequency: frequency().prefault('daily'),
          time: timeOfDay().prefault('05:00 UTC'),
          tool: str().default('Nessus'),
          scope: list(str()).default(['infrastructure', 'applications']),
          ...vulnerabilityScanFields,
        }),
        compliance: obj({
          ...scheduleFields,
          frequency: frequency().prefault('monthly'),
          time: timeOfDay().prefault('05:30 UTC'),
          standards: list(str()).default(['PCI-DSS', 'GDPR', 'SOC2']),
          ...complianceFields,
        }),
      }),
      /** Accepted risks (issue 13): each needs an owner, a reason and an expiry date. */
      exceptions: exceptionsField,
      advisories: advisoriesSection,
    }),
    dependencies: obj({
      npm: obj({
        ...scheduleFields,
        frequency: frequency().prefault('weekly'),
        day: weekday().prefault('Monday'),
        time: timeOfDay().prefault('06:00 UTC'),
        auto_merge: obj({ patch: bool().default(true), minor: bool().default(false), major: bool().default(false) }),
        security: obj({
          auto_merge: bool().default(true),
          priority: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
          ...npmSecurityFields,
        }),
        ...npmPolicyFields,
      }),
      system: obj({
        ...scheduleFields,
        frequency: frequency().prefault('monthly'),
        time: timeOfDay().prefault('06:00 UTC'),
        packages: list(str()).default(['os', 'runtime', 'tools']),
        testing: obj({ required: bool().default(true), environment: str().default('staging') }),
        ...systemPolicyFields,
      }),
      docker: obj({
        ...scheduleFields,
        frequency: frequency().prefault('monthly'),
        time: timeOfDay().prefault('06:30 UTC'),
        images: list(str()).default(['node', 'redis', 'postgres']),
        scan: obj({
          tool: str().default('Trivy'),
          threshold: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
          ...dockerScanFields,
        }),
        ...dockerPolicyFields,
      }),
    }),
    server: obj({
      health_check: obj({
        frequency: frequency().prefault('every 5 minutes'),
        checks: list(z.enum(['disk_usage', 'memory_usage', 'cpu_load', 'service_status'])).default([
          'disk_usage',
          'memory_usage',
          'cpu_load',
          'service_status',
        ]),
        /** Mount points to check; an empty list checks every mounted file system with a size. */
        mounts: list(str('a mount point')).prefault([]),
        /** Services whose status is checked: a systemd unit, a process name, a TCP port or an HTTP URL. */
        services: list(
          z.union([
            z.strictObject({ name: str('a name'), systemd: str('a unit name') }),
            z.strictObject({ name: str('a name'), process: str('a process name') }),
            z.strictObject({ name: str('a name'), tcp: str('host:port') }),
            z.strictObject({
              name: str('a name'),
              http: str('a URL').url({ message: 'expected an http(s) URL' }),
              timeout: duration().prefault('5 seconds'),
            }),
          ]),
        ).prefault([]),
      }),
      cleanup: obj({
        ...scheduleFields,
        frequency: frequency().prefault('daily'),
        time: timeOfDay().prefault('04:30 UTC'),
        tasks: list(z.enum(['log_rotation', 'temp_files', 'old_deployments'])).default([
          'log_rotation',
          'temp_files',
          'old_deployments',
        ]),
        retention: obj({ logs: duration().prefault('30 days'), deployments: versions().prefault('5 versions') }),
        /** Directories clean-up may touch; every rule below must lie inside one of them. */
        roots: list(str('a directory')).prefault([]),
        /**
         * Where a root may be at all (besides the policy's own folder), after resolving links; system
         * directories (/etc, /usr, /var/lib, ...) are refused whatever this says.
         */
        allowed_prefixes: list(str('an absolute directory')).default([...DEFAULT_ALLOWED_PREFIXES]),
        /** Logs rotated when larger than max_size (bytes or "100MB") or older than max_age; rotated copies are gzip-compressed. */
        logs: list(
          z
            .strictObject({
              path: str('a log file path or a glob like /var/log/app/*.log'),
              max_size: byteSize().optional(),
              max_age: duration().optional(),
            })
            .refine((rule) => rule.max_size !== undefined || rule.max_age !== undefined, {
              message: 'give max_size, max_age or both',
            }),
        ).prefault([]),
        temp: list(z.strictObject({ dir: str('a directory'), older_than: duration().prefault('7 days') })).prefault([]),
        deployments: z
          .strictObject({
            root: str('a directory holding one sub-directory per release'),
            current_link: str('a symlink name').default('current'),
            /** A release counts as deployed successfully only when this file exists inside it. */
            success_marker: str('a file name').default('.deployed'),
          })
          .optional(),
      }),
      monitoring: obj({
        metrics: obj({ collection: interval().prefault('every 1 minute'), retention: duration().prefault('90 days') }),
        alerts: obj({
          disk: threshold().prefault('> 80%'),
          memory: threshold().prefault('> 85%'),
          cpu: threshold().prefault('> 90%'),
        }),
      }),
    }),
    network: obj({
      firewall: networkFirewallPolicy,
      dns: networkDnsPolicy,
      ssl: obj({
        renewal: obj({
          threshold: duration().prefault('30 days'),
          automatic: bool().default(true),
          ...tlsRenewalFields,
        }),
        validation: obj({
          ...scheduleFields,
          frequency: frequency().prefault('daily'),
          time: timeOfDay().prefault('06:00 UTC'),
          alerts: list(z.enum(['expiration', 'configuration'])).default(['expiration', 'configuration']),
          ...tlsValidationFields,
        }),
      }),
    }),
    backup: obj({
      /** Where backups and archived WAL live, and how they are stored (issue 3). */
      repository: obj({
        path: str('a directory').default('/var/lib/drydock/repository'),
        /** Only zstd is implemented: the repository format, the copy and restore workers and WAL objects are zstd frames. */
        compression: z
          .enum(['zstd'], {
            error: (issue) =>
              `expected "zstd" (the only compression implemented; lz4 and gzip are not), got ${JSON.stringify(issue.input)}`,
          })
          .default('zstd'),
        /** zstd level 1 costs ~2% size against level 3 and is about twice as fast (notes/backup-performance.md). */
        level: int(1).max(19).default(1),
        /** Worker threads that read, hash, compress and write; one per core is the measured sweet spot. */
        processes: int(1).max(64).default(2),
        /** AES-256-GCM key (64 hex characters or 32 raw bytes) for the stored objects; unset means unencrypted. */
        encryption_key: secretRef.optional(),
      }),
      /** The PostgreSQL cluster backed up on disk (physical backups must run on the database host). */
      postgres: obj({
        /** physical: base backups of the data directory + WAL (needs the database host). logical: pg_dump, for a managed database. */
        method: z.enum(['physical', 'logical']).default('physical'),
        data_directory: str('a directory').default('/var/lib/postgresql/15/main'),
        bin_directory: str('a directory').default('/usr/lib/postgresql/15/bin'),
        /** Longest wait for pg_backup_stop to see the last WAL segment archived before the backup fails. */
        archive_timeout: duration().prefault('5 minutes'),
        /** Command that PostgreSQL runs to fetch WAL during a restore (%f, %p); unset: Drydock's own `wal get` with absolute paths and this repository. */
        restore_command: str().optional(),
        /** Tables whose row counts and content checksums are recorded at backup time and compared by the restore test. */
        verify_tables: tableList.default(['listings', 'bookings', 'messages', 'users', 'reviews', 'notifications']),
      }),
      database: obj({
        full: obj({
          ...scheduleFields,
          frequency: frequency().prefault('daily'),
          time: timeOfDay().prefault('01:00 UTC'),
          retention: duration().prefault('30 days'),
        }),
        incremental: obj({
          ...scheduleFields,
          frequency: frequency().prefault('hourly'),
          time: timeOfDay().prefault('00:30 UTC'),
          retention: duration().prefault('24 hours'),
        }),
      }),
      validation: obj({
        restore_test: obj({
          ...scheduleFields,
          frequency: frequency().prefault('weekly'),
          day: weekday().prefault('Saturday'),
          time: timeOfDay().prefault('07:00 UTC'),
        }),
        integrity_check: obj({
          ...scheduleFields,
          frequency: frequency().prefault('daily'),
          time: timeOfDay().prefault('07:00 UTC'),
        }),
      }),
      files: obj({
        user_uploads: obj({
          ...scheduleFields,
          frequency: frequency().prefault('daily'),
          time: timeOfDay().prefault('02:30 UTC'),
          retention: duration().prefault('90 days'),
          /** The directory of user uploads, backed up as snapshots deduplicated by content. */
          path: str('a directory').default('/var/lib/dokkerr/uploads'),
          /** Re-read every file; by default a file whose size, mtime and inode are unchanged reuses its previous chunks. */
          rehash: bool().default(false),
        }),
        configuration: obj({
          frequency: frequency().prefault('on change'),
          /** true keeps every version; false keeps only the newest. */
          versioning: bool().default(true),
          /** Configuration files stored as a new version each time their content changes. */
          paths: list(str('a file path')).prefault([]),
        }),
      }),
      monitoring: obj({
        success_rate: obj({ threshold: percent().prefault('99.9%'), window: duration().prefault('30 days') }),
        alerts: obj({ failure: noticeTiming().prefault('immediate'), size_change: threshold().prefault('> 20%') }),
      }),
    }),
    maintenance_windows: obj({
      regular: obj({
        window: obj({
          day: weekday().prefault('Sunday'),
          time: timeRange().prefault('02:00-06:00 UTC'),
          /** A maintenance window recurs monthly (on the week_of_month'th day) or weekly. */
          frequency: z
            .enum(['monthly', 'weekly'], {
              error: (issue) =>
                `expected a maintenance window frequency, "monthly" or "weekly", got ${JSON.stringify(issue.input)}`,
            })
            .default('monthly'),
          /** Which Sunday of the month: 1-4 or "last". The spec does not say; the first is the default. */
          week_of_month: z.union([int(1).max(4), z.literal('last')]).default(1),
        }),
        notification: obj({ advance: duration().prefault('7 days'), reminder: duration().prefault('24 hours') }),
        /**
         * The change record the daemon uses to schedule and announce each regular window by itself,
         * `advance` ahead. Nothing is announced until a rollback plan and an owner are given: a
         * window without them cannot be scheduled.
         */
        change: obj({
          title: str('a title').default('Regular maintenance'),
          summary: str('what will be done').default(
            'Monthly maintenance: operating system, runtime and database work that needs a quiet period.',
          ),
          rollback_plan: str('a rollback plan').optional(),
          owner: str('a stakeholder name').optional(),
          standby: list(str('a stakeholder name')).prefault([]),
          components: list(str('a component')).prefault([]),
        }),
      }),
      emergency: obj({
        approval: list(str('a role')).default(['CTO', 'Head of Operations']),
        notification: obj({
          minimum: duration().prefault('1 hour'),
          channels: list(z.enum(['email', 'sms', 'status_page', 'webhook'])).default(['email', 'sms', 'status_page']),
        }),
      }),
      blackout: obj({
        /** The blackout periods in force, by name; each is defined under `definitions`. */
        periods: list(str('a period name')).default(['holiday_season', 'major_events', 'business_hours']),
        /** What each period covers: date ranges, yearly recurring ranges ("12-15" to "01-05" crosses the year) and weekly hours. */
        definitions: namedEntries(
          str('a period name'),
          z.strictObject({
            /** Absolute ranges, ISO dates or date-times in UTC; a bare end date includes that whole day. */
            dates: list(
              z
                .strictObject({
                  from: calendarDate('2026-11-27'),
                  to: calendarDate('2026-11-30'),
                  name: str().optional(),
                })
                .refine((d) => d.to.end > d.from.start, { message: '"to" must come after "from"', path: ['to'] }),
            ).prefault([]),
            /** Every year from MM-DD to MM-DD inclusive (UTC). */
            yearly: list(z.strictObject({ from: monthDay('12-15'), to: monthDay('01-05') })).prefault([]),
            /** Every week on these days during this UTC time range. */
            weekly: list(z.strictObject({ days: list(weekday()).min(1), time: timeRange() })).prefault([]),
          }),
          {
            holiday_season: { yearly: [{ from: '12-15', to: '01-05' }] },
            major_events: {},
            business_hours: {
              weekly: [{ days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'], time: '09:00-18:00 UTC' }],
            },
          },
        ),
        exceptions: obj({ security: bool().default(true), critical_bugs: bool().default(true) }),
        /**
         * Task ids (a trailing * matches a prefix) that blackouts do not hold back: checks and metrics
         * only observe, and backups protect data on the spec's own hourly/daily schedule.
         */
        exempt_tasks: list(str('a task id or prefix*')).default([
          'server.health_check',
          'server.monitoring',
          'cache.metrics',
          'cache.replication',
          // Relieving memory pressure cannot wait for business hours to end; it only touches evictable namespaces.
          'cache.eviction',
          'network.dns.*',
          'backup.*',
          'drydock.*',
        ]),
      }),
      /** Notices: when true, a window whose notices could not be delivered does not start. */
      notices_required: bool().default(false),
      /** Attempts per delivery before it is logged as failed, and the wait before the second. */
      delivery: obj({ attempts: int(1).max(10).default(3), backoff: duration().prefault('30 seconds') }),
    }),
    alerts: obj({
      /** How long a condition must hold before the alert fires (Prometheus's `for`). */
      for: duration().prefault('5 minutes'),
      /** While an alert lasts it is sent again this often. */
      repeat: duration().prefault('4 hours'),
      channels: list(identifier('a channel name')).default(['log']),
      /** Rules added or overriding the spec's built-in ones by name; {enabled: false} removes one. */
      rules: z
        .record(
          identifier('a rule name'),
          z.strictObject({
            enabled: bool().default(true),
            /** A metric family, e.g. redis_memory_used_ratio, host_disk_used_ratio. */
            metric: str('a metric name').optional(),
            condition: threshold().optional(),
            for: duration().optional(),
            repeat: duration().optional(),
            /** Security alerts are never silenced by maintenance runs or windows. */
            class: z.enum(['maintenance', 'security']).default('maintenance'),
            summary: str().optional(),
          }),
        )
        .prefault({}),
    }),
    /** Channels by name; the built-in `log` channel stays unless the policy defines its own `log`. */
    channels: namedEntries(identifier('a channel name'), channel, { log: { type: 'log' } }),
    notify: obj({
      /** Channels told before a run starts (the spec's notifyStakeholders). */
      start: list(identifier('a channel name')).default(['log']),
      success: list(identifier('a channel name')).default(['log']),
      failure: list(identifier('a channel name')).default(['log']),
      /** The same failure of a task again is notified at most this often (Alertmanager's repeat_interval). */
      repeat: duration()
        .prefault('4 hours')
        .meta({ description: 'A task failing the same way again is re-notified at most this often.' }),
    }),
    stakeholders: list(
      z.strictObject({
        name: str('a name'),
        roles: list(str('a role')).prefault([]),
        email: str('an email address').email({ message: 'expected an email address' }).optional(),
        phone: str('a phone number').optional(),
        /** Channels (by name) that reach this person; email/sms channels use the address/phone above. */
        channels: list(identifier('a channel name')).prefault([]),
        /** This person's API token, as a secret reference (32+ random characters); Drydock keeps only its hash. */
        token: secretRef.optional(),
        /** What this person may do (README "Security model"): viewer reads, operator acts, admin also manages tokens. */
        access: z.enum(['viewer', 'operator', 'admin']).default('viewer'),
      }),
    ).prefault([]),
    /** Per-task overrides by task id: enable/disable, retry policy. */
    tasks: z
      .record(
        str('a task id'),
        z.strictObject({
          enabled: bool().optional(),
          retry: z
            .strictObject({
              attempts: int(1).max(20).optional(),
              backoff: duration().optional(),
              max_backoff: duration().optional(),
            })
            .optional(),
        }),
      )
      .prefault({}),
  })
  .superRefine((policy, ctx) => crossCheck(policy, ctx), { when: () => true });

/**
 * The alert rules Drydock has built in (alerts/rules.ts builds them from the spec's thresholds); a rule
 * under `alerts.rules` with another name is a new rule and needs a metric and a condition.
 */
const BUILT_IN_ALERT_RULES = [
  'redis_hit_rate',
  'redis_memory',
  'redis_latency',
  'redis_replica_lag',
  'host_disk',
  'host_memory',
  'host_cpu',
  'service_down',
  'target_down',
  'backup_failed',
  'backup_size_change',
] as const;
export type BuiltInAlertRule = (typeof BUILT_IN_ALERT_RULES)[number];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks across sections: names used in one place must be defined in another. It runs even when
 * other parts failed, so every problem is listed at once; the input may be malformed here.
 */
function crossCheck(policy: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(policy)) return;
  const unknownName = (path: PropertyKey[], what: string, name: string, known: Set<string>) =>
    ctx.addIssue({
      code: 'custom',
      path,
      message: `unknown ${what} "${name}" (defined: ${[...known].join(', ') || 'none'})`,
    });
  const names = (list: unknown, path: PropertyKey[], what: string, known: Set<string>) => {
    if (!Array.isArray(list)) return;
    list.forEach((name, i) => {
      if (typeof name === 'string' && !known.has(name)) unknownName([...path, i], what, name, known);
    });
  };

  // The built-in log channel is always defined (see namedEntries).
  const channels = new Set(['log', ...Object.keys(isRecord(policy.channels) ? policy.channels : {})]);
  if (isRecord(policy.notify))
    for (const [event, list] of Object.entries(policy.notify)) names(list, ['notify', event], 'channel', channels);
  if (isRecord(policy.alerts)) names(policy.alerts.channels, ['alerts', 'channels'], 'channel', channels);

  const windows = isRecord(policy.maintenance_windows) ? policy.maintenance_windows : {};
  const blackout = isRecord(windows.blackout) ? windows.blackout : {};
  const periods = new Set(['holiday_season', 'major_events', 'business_hours']);
  if (isRecord(blackout.definitions)) for (const name of Object.keys(blackout.definitions)) periods.add(name);
  names(blackout.periods, ['maintenance_windows', 'blackout', 'periods'], 'blackout period', periods);

  const rules = isRecord(policy.alerts) && isRecord(policy.alerts.rules) ? policy.alerts.rules : {};
  const builtIn = new Set<string>(BUILT_IN_ALERT_RULES);
  for (const [name, rule] of Object.entries(rules)) {
    if (builtIn.has(name) || !isRecord(rule) || rule.enabled === false) continue;
    for (const field of ['metric', 'condition'] as const) {
      if (rule[field] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['alerts', 'rules', name],
          message: `a new rule needs "${field}" (built-in rules: ${BUILT_IN_ALERT_RULES.join(', ')})`,
        });
    }
  }
}

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type SecretRef = z.output<typeof secretRef>;
export type ChannelConfig = Policy['channels'][string];
