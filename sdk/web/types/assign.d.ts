/** Why a visitor got its variant (docs/assignment.md); "error" is the SDK's own fallback. */
export type Reason =
  | 'assigned' | 'sticky' | 'sticky_unverified' | 'promoted' | 'forced'
  | 'not_running' | 'region' | 'layer' | 'coverage' | 'breaker' | 'error'

/** Free-form offer description handed to the page. */
export type Payload = Record<string, unknown>

export interface Assignment<P = Payload> {
  experiment: string
  variant: string
  payload: P
  /** false: the page shows the control's default offer and nothing is counted. */
  inExperiment: boolean
  reason: Reason
  /** Local evaluation of a bandit visitor whose bucket moved: only upshotd
   * knows whether they were exposed under an earlier variant (reason is
   * then "sticky_unverified"). */
  needsServer?: boolean
}

export interface Promotion {
  variant: string
  /** Share of the region's visitors kept randomized, 0-1. */
  holdback: number
}

/** An experiment as /v1/sdk/config (or the config file) describes it. */
export interface ExperimentConfig {
  key: string
  salt?: string
  status?: 'draft' | 'running' | 'stopped'
  placement?: string
  pages?: string[]
  regions?: string[] | 'all'
  traffic_percent?: number
  control?: string
  variants: Array<{ key: string; weight: number; payload?: Payload }>
  layer?: { name: string; range?: [number, number] }
  allocation_version?: number
  qa?: { visitors?: Record<string, string>; query_override?: boolean }
  promotions?: Record<string, Promotion>
  /** Regions whose circuit breaker tripped: they get the control. */
  breaker_trips?: Record<string, { variant: string; metric?: string; since?: string }>
  /** A bandit: the regions whose weights moved, with their bucket layouts
   * (docs/assignment.md, "Bandit stickiness"); the variants' weights are
   * the starting weights the other regions use. */
  bandit?: { regions: Record<string, { period: number; layout: string }> }
}

export interface EvaluateOptions {
  /** A forced variant, honoured only when qa.query_override is true. */
  force?: string
  /** Promotions by region; defaults to experiment.promotions. */
  promotions?: Record<string, Promotion>
}

/** Start of each variant's bucket range, then 10000. */
export declare function ranges(weights: number[]): number[]
/** Index of the variant whose range holds bucket b, or -1. */
export declare function pick(weights: number[], b: number): number
/** A bandit layout's text decoded: the arm owning each bucket, and whether it ever moved (1). */
export declare function decodeLayout(text: string): { owner: Uint8Array; moved: Uint8Array } | null
/** The decision upshotd makes, computed locally. */
export declare function evaluate(experiment: ExperimentConfig, visitor: string, region: string, options?: EvaluateOptions): Assignment
