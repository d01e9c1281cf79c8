/** Default thresholds of a plan quota, in percent of its limit. */
export const DEFAULT_QUOTA_THRESHOLDS = [80, 100];
