// The policy: one zod schema whose defaults are exactly Dokkerr's maintenance procedures
// (spec/maintenance-procedures.md). It gives the TypeScript types, the validation, the JSON Schema
// (`drydock config schema`) and `drydock config print --defaults`.
// Values the spec does not give (times of day for "daily" tasks, which day "weekly" means, ...)
// are chosen here and listed in the README under "Where the spec is silent".
import { z } from 'zod';
import {
  bool,
  duration,
  frequency,
  identifier,
  int,
  list,
  noticeTiming,
  percent,
  str,
  threshold,
  timeOfDay,
  timeRange,
  versions,
  weekday,
} from './fields.js';

// prefault({}) parses an absent section as {} so the defaults inside it apply.
const obj = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape).prefault({} as never);

/** A secret is named, never written inline: an environment variable or a file. */
export const secretRef = z
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
  connect_timeout: duration().default('5 seconds'),
  /** Database to connect to when creating the demo database. */
  maintenance_database: identifier('a database name').default('postgres'),
});

const redisTarget = obj({
  host: str('a host name').default('127.0.0.1'),
  port: int(1).max(65535).default(6379),
  username: str().optional(),
  password: secretRef.optional(),
  connect_timeout: duration().default('5 seconds'),
});

const retry = obj({
  attempts: int(1).max(20).default(3).meta({ description: 'Total attempts, the first included.' }),
  backoff: duration().default('1 minute').meta({ description: 'Wait before the second attempt; doubles each time.' }),
  max_backoff: duration().default('30 minutes'),
});

const channel = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('log') }),
  z.strictObject({
    type: z.literal('webhook'),
    url: str('a URL').url({ message: 'expected an http(s) URL' }),
    /** Slack-compatible payload ({text}) or Drydock's own JSON. */
    format: z.enum(['json', 'slack']).default('json'),
    headers: z.record(z.string(), z.string()).default({}),
    /** Sent as `Authorization: Bearer <token>` when set. */
    token: secretRef.optional(),
    timeout: duration().default('10 seconds'),
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
    to: list(str('an email address')).default([]),
    /** PEM file of a CA to trust (a private SMTP relay). */
    ca_file: str('a file path').optional(),
    timeout: duration().default('10 seconds'),
  }),
  z.strictObject({
    type: z.literal('sms'),
    base_url: str('a URL').url({ message: 'expected an http(s) URL' }).default('https://api.twilio.com'),
    account_sid: secretRef,
    auth_token: secretRef,
    from: str('a phone number'),
    to: list(str('a phone number')).default([]),
    timeout: duration().default('10 seconds'),
  }),
  z.strictObject({
    type: z.literal('slack'),
    url: secretRef.meta({ description: 'The incoming-webhook URL holds its own secret, so it is a secret reference.' }),
    timeout: duration().default('10 seconds'),
  }),
  z.strictObject({
    type: z.literal('status_page'),
    /** The public page's heading and <title>. */
    title: str().default('System status'),
    /** Components listed on the page even before any health is recorded. */
    components: list(str('a component name')).default([]),
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
    }),
    targets: obj({ postgres: postgresTarget, redis: redisTarget }),
    engine: obj({
      retry,
      /** A missed slot younger than this still runs after a restart; older ones are recorded as missed. */
      misfire_grace: duration().default('10 minutes'),
      /** How long a run waits for a table another run holds before it is skipped. */
      lock_wait: duration().default('30 minutes'),
      /** A daemon whose heartbeat is older than this is presumed dead; its open runs become interrupted. */
      instance_timeout: duration().default('1 minute'),
      shutdown_grace: duration().default('30 seconds'),
    }),
    activity_log: obj({ retention: duration().default('400 days') }),
    database: obj({
      vacuum: obj({
        ...scheduleFields,
        frequency: frequency().default('daily'),
        time: timeOfDay().default('03:00 UTC'),
        tables: tableList.default(['listings', 'bookings', 'messages']),
        options: obj({ full: bool().default(false), analyze: bool().default(true), verbose: bool().default(true) }),
        lock_timeout: duration().default('5 seconds'),
        /**
         * VACUUM's throttle (vacuum_cost_delay, 0 to 100 ms). 10 ms keeps the application's p99 within
         * 1.3x while a bloated table is vacuumed (2 ms, autovacuum's default, gave 3x); "0ms" turns it off.
         */
        cost_delay: duration().default('10ms'),
      }),
      backup: obj({
        ...scheduleFields,
        frequency: frequency().default('daily'),
        retention: duration().default('30 days'),
        type: z.enum(['full', 'incremental']).default('incremental'),
        window: obj({ start: timeOfDay().default('01:00 UTC'), duration: duration().default('2 hours') }),
      }),
      index_rebuild: obj({
        ...scheduleFields,
        frequency: frequency().default('weekly'),
        day: weekday().default('Sunday'),
        time: timeOfDay().default('04:00 UTC'),
        concurrent: bool().default(true),
        tables: obj({
          high_priority: tableList.default(['listings', 'users']),
          normal: tableList.default(['reviews', 'notifications']),
        }),
        lock_timeout: duration().default('5 seconds'),
        /** Only B-tree indexes whose estimated bloat reaches this are rebuilt (others without an estimate always are). */
        min_bloat: percent().default('20%'),
        /** Wait between two rebuilds, so the application catches up between them. */
        pause: duration().default('2 seconds'),
      }),
    }),
    cache: obj({
      eviction: obj({
        ...scheduleFields,
        frequency: frequency().default('hourly'),
        threshold: obj({ memory: percent().default('80%'), keys: int(1).default(1_000_000) }),
        /** Key prefixes that may be evicted; nothing else is ever touched. */
        evictable_namespaces: list(str('a key prefix')).default([]),
        batch_size: int(1).max(10_000).default(200),
      }),
      replication: obj({
        sync_check: frequency().default('every 15 minutes'),
        max_lag: duration().default('5 seconds'),
        /** Replicas that must be connected ("host:port"); an empty list checks whichever the primary reports. */
        replicas: list(str('a replica as host:port')).default([]),
      }),
      backup: obj({
        ...scheduleFields,
        frequency: frequency().default('daily'),
        time: timeOfDay().default('02:00 UTC'),
        retention: duration().default('7 days'),
      }),
      metrics: obj({
        collection: frequency().default('every 1 minute'),
        retention: duration().default('30 days'),
        alerts: obj({
          hit_rate: threshold().default('< 80%'),
          memory: threshold().default('> 90%'),
          latency: threshold().default('> 100ms'),
        }),
        /** Further Redis servers to collect from (the main one is targets.redis). */
        extra_targets: list(redisTarget).default([]),
      }),
    }),
    security: obj({
      patches: obj({
        critical: obj({
          sla: duration().default('24 hours'),
          approval: z.enum(['automatic', 'required']).default('automatic'),
          notification: noticeTiming().default('immediate'),
        }),
        high: obj({
          sla: duration().default('72 hours'),
          approval: z.enum(['automatic', 'required']).default('required'),
          notification: noticeTiming().default('next business day'),
        }),
        medium: obj({
          sla: duration().default('1 week'),
          approval: z.enum(['automatic', 'required']).default('required'),
          notification: noticeTiming().default('weekly'),
        }),
      }),
      scans: obj({
        vulnerability: obj({
          ...scheduleFields,
          frequency: frequency().default('daily'),
          time: timeOfDay().default('05:00 UTC'),
          tool: str().default('Nessus'),
          scope: list(str()).default(['infrastructure', 'applications']),
        }),
        compliance: obj({
          ...scheduleFields,
          frequency: frequency().default('monthly'),
          time: timeOfDay().default('05:30 UTC'),
          standards: list(str()).default(['PCI-DSS', 'GDPR', 'SOC2']),
        }),
      }),
    }),
    dependencies: obj({
      npm: obj({
        ...scheduleFields,
        frequency: frequency().default('weekly'),
        day: weekday().default('Monday'),
        time: timeOfDay().default('06:00 UTC'),
        auto_merge: obj({ patch: bool().default(true), minor: bool().default(false), major: bool().default(false) }),
        security: obj({
          auto_merge: bool().default(true),
          priority: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
        }),
      }),
      system: obj({
        ...scheduleFields,
        frequency: frequency().default('monthly'),
        time: timeOfDay().default('06:00 UTC'),
        packages: list(str()).default(['os', 'runtime', 'tools']),
        testing: obj({ required: bool().default(true), environment: str().default('staging') }),
      }),
      docker: obj({
        ...scheduleFields,
        frequency: frequency().default('monthly'),
        time: timeOfDay().default('06:30 UTC'),
        images: list(str()).default(['node', 'redis', 'postgres']),
        scan: obj({
          tool: str().default('Trivy'),
          threshold: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
        }),
      }),
    }),
    server: obj({
      health_check: obj({
        frequency: frequency().default('every 5 minutes'),
        checks: list(z.enum(['disk_usage', 'memory_usage', 'cpu_load', 'service_status'])).default([
          'disk_usage',
          'memory_usage',
          'cpu_load',
          'service_status',
        ]),
        /** Mount points to check; an empty list checks every mounted file system with a size. */
        mounts: list(str('a mount point')).default([]),
        /** Services whose status is checked: a systemd unit, a process name, a TCP port or an HTTP URL. */
        services: list(
          z.union([
            z.strictObject({ name: str('a name'), systemd: str('a unit name') }),
            z.strictObject({ name: str('a name'), process: str('a process name') }),
            z.strictObject({ name: str('a name'), tcp: str('host:port') }),
            z.strictObject({
              name: str('a name'),
              http: str('a URL').url({ message: 'expected an http(s) URL' }),
              timeout: duration().default('5 seconds'),
            }),
          ]),
        ).default([]),
      }),
      cleanup: obj({
        ...scheduleFields,
        frequency: frequency().default('daily'),
        time: timeOfDay().default('04:30 UTC'),
        tasks: list(z.enum(['log_rotation', 'temp_files', 'old_deployments'])).default([
          'log_rotation',
          'temp_files',
          'old_deployments',
        ]),
        retention: obj({ logs: duration().default('30 days'), deployments: versions().default('5 versions') }),
        /** Directories clean-up may touch; every rule below must lie inside one of them. */
        roots: list(str('a directory')).default([]),
        /** Logs rotated when larger than max_size (bytes or "100MB") or older than max_age; rotated copies are gzip-compressed. */
        logs: list(
          z.strictObject({
            path: str('a log file path or a glob like /var/log/app/*.log'),
            max_size: z.union([int(1), str('a size like "100MB"')]).optional(),
            max_age: duration().optional(),
          }),
        ).default([]),
        temp: list(z.strictObject({ dir: str('a directory'), older_than: duration().default('7 days') })).default([]),
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
        metrics: obj({ collection: frequency().default('every 1 minute'), retention: duration().default('90 days') }),
        alerts: obj({
          disk: threshold().default('> 80%'),
          memory: threshold().default('> 85%'),
          cpu: threshold().default('> 90%'),
        }),
      }),
    }),
    network: obj({
      firewall: obj({
        review: frequency().default('monthly'),
        updates: obj({ emergency: duration().default('immediate'), planned: frequency().default('weekly') }),
      }),
      dns: obj({
        health_check: frequency().default('hourly'),
        propagation: obj({ check: frequency().default('every 15 minutes'), timeout: duration().default('24 hours') }),
      }),
      ssl: obj({
        renewal: obj({ threshold: duration().default('30 days'), automatic: bool().default(true) }),
        validation: obj({
          ...scheduleFields,
          frequency: frequency().default('daily'),
          time: timeOfDay().default('06:00 UTC'),
          alerts: list(z.enum(['expiration', 'configuration'])).default(['expiration', 'configuration']),
        }),
      }),
    }),
    backup: obj({
      /** Where backups and archived WAL live, and how they are stored (issue 3). */
      repository: obj({
        path: str('a directory').default('/var/lib/drydock/repository'),
        compression: z.enum(['zstd', 'lz4', 'gzip']).default('zstd'),
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
        archive_timeout: duration().default('5 minutes'),
        /** Command that PostgreSQL runs to fetch WAL during a restore; %f and %p as in restore_command. */
        restore_command: str().default('drydock wal get %f "%p"'),
        /** Tables whose row counts and content checksums are recorded at backup time and compared by the restore test. */
        verify_tables: tableList.default(['listings', 'bookings', 'messages', 'users', 'reviews', 'notifications']),
      }),
      database: obj({
        full: obj({
          ...scheduleFields,
          frequency: frequency().default('daily'),
          time: timeOfDay().default('01:00 UTC'),
          retention: duration().default('30 days'),
        }),
        incremental: obj({
          ...scheduleFields,
          frequency: frequency().default('hourly'),
          time: timeOfDay().default('00:30 UTC'),
          retention: duration().default('24 hours'),
        }),
      }),
      validation: obj({
        restore_test: obj({
          ...scheduleFields,
          frequency: frequency().default('weekly'),
          day: weekday().default('Saturday'),
          time: timeOfDay().default('07:00 UTC'),
        }),
        integrity_check: obj({
          ...scheduleFields,
          frequency: frequency().default('daily'),
          time: timeOfDay().default('07:00 UTC'),
        }),
      }),
      files: obj({
        user_uploads: obj({
          ...scheduleFields,
          frequency: frequency().default('daily'),
          time: timeOfDay().default('02:30 UTC'),
          retention: duration().default('90 days'),
          /** The directory of user uploads, backed up as snapshots deduplicated by content. */
          path: str('a directory').default('/var/lib/dokkerr/uploads'),
          /** Re-read every file; by default a file whose size, mtime and inode are unchanged reuses its previous chunks. */
          rehash: bool().default(false),
        }),
        configuration: obj({
          frequency: frequency().default('on change'),
          /** true keeps every version; false keeps only the newest. */
          versioning: bool().default(true),
          /** Configuration files stored as a new version each time their content changes. */
          paths: list(str('a file path')).default([]),
        }),
      }),
      monitoring: obj({
        success_rate: obj({ threshold: percent().default('99.9%'), window: duration().default('30 days') }),
        alerts: obj({ failure: noticeTiming().default('immediate'), size_change: threshold().default('> 20%') }),
      }),
    }),
    maintenance_windows: obj({
      regular: obj({
        window: obj({
          day: weekday().default('Sunday'),
          time: timeRange().default('02:00-06:00 UTC'),
          frequency: frequency().default('monthly'),
          /** Which Sunday of the month: 1-4 or "last". The spec does not say; the first is the default. */
          week_of_month: z.union([int(1).max(4), z.literal('last')]).default(1),
        }),
        notification: obj({ advance: duration().default('7 days'), reminder: duration().default('24 hours') }),
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
          standby: list(str('a stakeholder name')).default([]),
          components: list(str('a component')).default([]),
        }),
      }),
      emergency: obj({
        approval: list(str('a role')).default(['CTO', 'Head of Operations']),
        notification: obj({
          minimum: duration().default('1 hour'),
          channels: list(z.enum(['email', 'sms', 'status_page', 'webhook'])).default(['email', 'sms', 'status_page']),
        }),
      }),
      blackout: obj({
        /** The blackout periods in force, by name; each is defined under `definitions`. */
        periods: list(str('a period name')).default(['holiday_season', 'major_events', 'business_hours']),
        /** What each period covers: date ranges, yearly recurring ranges ("12-15" to "01-05" crosses the year) and weekly hours. */
        definitions: z
          .record(
            str('a period name'),
            z.strictObject({
              /** Absolute ranges, ISO dates or date-times in UTC; a bare end date includes that whole day. */
              dates: list(
                z.strictObject({
                  from: str('an ISO date like "2026-11-27"'),
                  to: str('an ISO date like "2026-11-30"'),
                  name: str().optional(),
                }),
              ).default([]),
              /** Every year from MM-DD to MM-DD inclusive (UTC). */
              yearly: list(
                z.strictObject({
                  from: str('a month-day like "12-15"').regex(/^\d{2}-\d{2}$/, {
                    message: 'expected a month-day like "12-15"',
                  }),
                  to: str('a month-day like "01-05"').regex(/^\d{2}-\d{2}$/, {
                    message: 'expected a month-day like "01-05"',
                  }),
                }),
              ).default([]),
              /** Every week on these days during this UTC time range. */
              weekly: list(z.strictObject({ days: list(weekday()).min(1), time: timeRange() })).default([]),
            }),
          )
          .default({
            holiday_season: { dates: [], yearly: [{ from: '12-15', to: '01-05' }], weekly: [] },
            major_events: { dates: [], yearly: [], weekly: [] },
            business_hours: {
              dates: [],
              yearly: [],
              weekly: [{ days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'], time: '09:00-18:00 UTC' }],
            },
          }),
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
      delivery: obj({ attempts: int(1).max(10).default(3), backoff: duration().default('30 seconds') }),
    }),
    alerts: obj({
      /** How long a condition must hold before the alert fires (Prometheus's `for`). */
      for: duration().default('5 minutes'),
      /** While an alert lasts it is sent again this often. */
      repeat: duration().default('4 hours'),
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
        .default({}),
    }),
    channels: z.record(identifier('a channel name'), channel).default({ log: { type: 'log' } }),
    notify: obj({
      /** Channels told before a run starts (the spec's notifyStakeholders). */
      start: list(identifier('a channel name')).default(['log']),
      success: list(identifier('a channel name')).default(['log']),
      failure: list(identifier('a channel name')).default(['log']),
    }),
    stakeholders: list(
      z.strictObject({
        name: str('a name'),
        roles: list(str('a role')).default([]),
        email: str('an email address').email({ message: 'expected an email address' }).optional(),
        phone: str('a phone number').optional(),
        /** Channels (by name) that reach this person; email/sms channels use the address/phone above. */
        channels: list(identifier('a channel name')).default([]),
        /** This person's API token for approvals, as a secret reference; Drydock keeps only its hash. */
        token: secretRef.optional(),
      }),
    ).default([]),
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
      .default({}),
  })
  .superRefine(
    (policy, ctx) => {
      // Runs even when other parts failed, so every problem is listed at once; the input may be malformed here.
      const raw = policy as unknown as { channels?: unknown; notify?: unknown };
      const channels = raw.channels && typeof raw.channels === 'object' ? raw.channels : { log: {} };
      const known = new Set(Object.keys(channels));
      const notify = raw.notify && typeof raw.notify === 'object' ? (raw.notify as Record<string, unknown>) : {};
      for (const [event, names] of Object.entries(notify)) {
        if (!Array.isArray(names)) continue;
        names.forEach((name, i) => {
          if (typeof name === 'string' && !known.has(name)) {
            ctx.addIssue({
              code: 'custom',
              path: ['notify', event, i],
              message: `unknown channel "${name}" (defined: ${[...known].join(', ') || 'none'})`,
            });
          }
        });
      }
    },
    { when: () => true },
  );

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type SecretRef = z.output<typeof secretRef>;
export type ChannelConfig = Policy['channels'][string];
