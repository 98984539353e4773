/**
 * Row counts of each seed scale. `large` is the benchmark size;
 * `medium` is a tenth of it and `small` is sized for the test suite.
 */
export interface Scale {
  readonly workshops: number;
  /** Users; each is a member of one workshop, so users / workshops members per workshop. */
  readonly users: number;
  readonly services: number;
  /** FAQ entries per workshop (plus {@linkcode GLOBAL_FAQ} global ones). */
  readonly faqPerWorkshop: number;
  readonly leads: number;
  readonly events: number;
  /** Progress rows; each user has progressRows / users modules (at most {@linkcode MODULES} / 4). */
  readonly progressRows: number;
  readonly blogPosts: number;
  readonly projects: number;
}

export const SCALES = {
  small: {
    workshops: 50,
    users: 1_000,
    services: 2_500,
    faqPerWorkshop: 4,
    leads: 5_000,
    events: 50_000,
    progressRows: 10_000,
    blogPosts: 40,
    projects: 10,
  },
  medium: {
    workshops: 1_000,
    users: 20_000,
    services: 50_000,
    faqPerWorkshop: 4,
    leads: 100_000,
    events: 2_000_000,
    progressRows: 200_000,
    blogPosts: 200,
    projects: 40,
  },
  large: {
    workshops: 10_000,
    users: 200_000,
    services: 500_000,
    faqPerWorkshop: 4,
    leads: 1_000_000,
    events: 20_000_000,
    progressRows: 2_000_000,
    blogPosts: 1_000,
    projects: 100,
  },
} as const satisfies Record<string, Scale>;

export type ScaleName = keyof typeof SCALES;

export const GLOBAL_FAQ = 20;
/** Training modules in the catalogue. */
export const MODULES = 40;
/** Months of analytics events, ending with the anchor's month. */
export const EVENT_MONTHS = 13;
/** Share of leads whose chat history is over the trim cap (60 to 120 messages). */
export const LONG_CHAT_SHARE = 0.1;
