import type { Assignment, Payload } from './assign.js'

export type { Assignment, Payload, Reason, ExperimentConfig, EvaluateOptions, Promotion, Factor } from './assign.js'
export { evaluate, ranges } from './assign.js'
export { murmur3, bucket, toBucket } from './hash.js'

/** The subset of the Web Storage API the SDK uses. */
export interface StorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

export interface UpshotOptions {
  /** Base URL of upshotd, e.g. "https://upshot.example.com". */
  server: string
  /** Public SDK key (one of the server's sdk_keys), sent as the `key` query parameter. */
  key?: string
  /** The visitor's region, e.g. "gr", "pl", "mena", "ee", "se". */
  region: string
  /** The shop's own visitor id (1-128 printable ASCII); otherwise a first-party cookie / localStorage id. */
  visitor?: string
  /** "remote" (default): ask upshotd; "local": evaluate a /v1/sdk/config snapshot in the browser. */
  mode?: 'remote' | 'local'
  /** Milliseconds an assignment may take before the page gets control (default 1500). */
  timeout?: number
  /** Milliseconds events wait to be batched (default 1000); conversions and declines go at once. */
  flushInterval?: number
  /** Events per request (default 50); a full batch is sent at once. */
  maxBatch?: number
  /** First retry delay in ms (default 1000), doubled each failure, jittered to 50-100%. */
  backoff?: number
  /** Longest retry delay in ms (default 60000). */
  maxBackoff?: number
  /** What the page gets per experiment when upshotd cannot answer (default variant "control", payload {}). */
  defaults?: Record<string, { variant?: string; payload?: Payload }>
  /** Where the queue, the visitor id and the exposures live (default localStorage; null: memory only). */
  storage?: StorageLike | null
  /** Send pending events when the page is hidden or the browser comes online (default true). */
  autoFlush?: boolean
  /** Called with every network or HTTP error; the SDK itself never throws into the page. */
  onError?: (error: Error) => void
  /** A fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch
}

export declare class Upshot {
  constructor(options: UpshotOptions)
  /** The visitor id in use. */
  readonly visitor: string
  readonly region: string
  /** One experiment's variant, cached for the page. Never rejects: errors give control with reason "error". */
  getVariant<P = Payload>(experiment: string, options?: { force?: string }): Promise<Assignment<P>>
  /**
   * Every experiment of a page or placement in one request, cached for the page.
   * On failure, the experiments named in `expect` (and in `defaults`) get control.
   */
  getVariants(where: { page: string } | { placement: string }, expect?: string[]): Promise<Record<string, Assignment>>
  /**
   * The offer was shown: records an exposure once per visitor (not for control fallbacks, forced or out-of-experiment answers).
   * Generic in the payload, so an assignment whose payload the shop declared as an interface is accepted as it is.
   */
  expose<P = Payload>(assignment: Assignment<P> | string, options?: { cartValue?: number }): Promise<boolean>
  /** Expose once at least half of element is on screen; returns a function that stops watching. */
  exposeOnView<P = Payload>(element: Element, assignment: Assignment<P>, options?: { cartValue?: number }): () => void
  /** A conversion with its order value; the same orderId is counted once. */
  convert(experiment: string, order: { value: number; orderId?: string }): boolean
  /** One conversion for every experiment this visitor was exposed to; returns their keys. */
  purchase(order: { value: number; orderId?: string }): string[]
  /** A refund of (part of) an order: value > 0 is the amount; refundId makes it idempotent. */
  refund(experiment: string, refund: { value: number; orderId: string; refundId: string }): boolean
  /** The visitor said "no thanks". */
  decline(experiment: string): boolean
  /** Experiments this visitor has been exposed to: {experiment: variant}. */
  exposures(): Record<string, string>
  /** Send queued events now; with beacon = true, through navigator.sendBeacon (the page is going away). */
  flush(beacon?: boolean): Promise<void>
  /** Events not yet acknowledged by upshotd. */
  pending(): number
}

/** Shorthand for new Upshot(options). */
export declare function createUpshot(options: UpshotOptions): Upshot
/** A response's Retry-After in ms (delta-seconds or HTTP date); 0 when absent or past. */
export declare function retryAfterMs(headers: { get(name: string): string | null } | null | undefined, now?: number): number

/** The visitor id: first-party cookie, then localStorage, else a new random id stored in both. */
export declare function visitorId(storage?: StorageLike | null, doc?: { cookie: string } | null): string
