// Failed authentication is limited per address and per person (when the token names one): after
// `points` failures within `windowMs`, that address or person gets 429 for `blockMs`, even with a
// right token, so a guessing run stops long before it could matter. In memory: each daemon counts
// its own (a shared store is for when several daemons serve the API behind one address).
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface AuthLimiterOptions {
  points?: number;
  windowMs?: number;
  blockMs?: number;
}

export class AuthLimiter {
  private readonly byAddress: RateLimiterMemory;
  private readonly byPerson: RateLimiterMemory;
  readonly points: number;

  constructor(options: AuthLimiterOptions = {}) {
    this.points = options.points ?? 20;
    const common = {
      points: this.points,
      duration: Math.ceil((options.windowMs ?? 60_000) / 1000),
      blockDuration: Math.ceil((options.blockMs ?? 15 * 60_000) / 1000),
    };
    this.byAddress = new RateLimiterMemory({ ...common, keyPrefix: 'address' });
    this.byPerson = new RateLimiterMemory({ ...common, keyPrefix: 'person' });
  }

  private static async over(limiter: RateLimiterMemory, key: string, points: number): Promise<number | null> {
    const res = await limiter.get(key);
    return res && res.consumedPoints > points ? Math.ceil(res.msBeforeNext / 1000) : null;
  }

  /** Seconds until the address or person may try again, or null when they may try now. */
  async blocked(address: string, person?: string): Promise<number | null> {
    return (
      (await AuthLimiter.over(this.byAddress, address, this.points)) ??
      (person ? await AuthLimiter.over(this.byPerson, person, this.points) : null)
    );
  }

  /** Counts one failure; returns the seconds of the block it caused, or null. */
  async fail(address: string, person?: string): Promise<number | null> {
    let blockedFor: number | null = null;
    for (const [limiter, key] of [
      [this.byAddress, address],
      ...(person ? [[this.byPerson, person] as const] : []),
    ] as const) {
      try {
        await limiter.consume(key);
      } catch (error) {
        if (error instanceof RateLimiterRes)
          blockedFor = Math.max(blockedFor ?? 0, Math.ceil(error.msBeforeNext / 1000));
        else throw error;
      }
    }
    return blockedFor;
  }
}
