import type { StepStatus } from './bridge';

export type IconName = 'pending' | 'running' | 'success' | 'failed' | 'skipped' | 'cancelled' | 'interrupted' | 'up_to_date';

/** Status is never colour alone: each has an icon and a word (class `st-<status>` colours it). */
export const STATUS_WORD: Record<StepStatus, string> = {
  pending: 'pending',
  running: 'running',
  success: 'done',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
  interrupted: 'interrupted',
  up_to_date: 'up to date',
};

export function statusWord(status: string): string {
  return STATUS_WORD[status as StepStatus] ?? status.replace(/_/g, ' ');
}
