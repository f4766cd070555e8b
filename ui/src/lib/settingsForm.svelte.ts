// Settings form state: what the user touched, live checks (debounced), save and its outcome.
import {
  checkSettings, problemOf, readSettings, saveSettings, testConnection,
  type CommandError, type SaveOutcome, type SettingsCheck, type SettingsView,
} from './bridge';

export const CHECK_DELAY_MS = 250;

export class SettingsForm {
  view = $state<SettingsView | null>(null);
  loadError = $state<CommandError | null>(null);
  /** Current input values by key (secrets start empty and are cleared after saving). */
  values = $state<Record<string, string>>({});
  touched = $state<string[]>([]);
  check = $state<SettingsCheck>({ errors: {}, area: null });
  saving = $state(false);
  outcome = $state<SaveOutcome | null>(null);
  saveError = $state<CommandError | null>(null);
  /** What test_connection answered, or why the command itself failed (one of the two). */
  connection = $state<{ ok: boolean; message: string } | null>(null);
  connectionError = $state<CommandError | null>(null);
  testing = $state(false);

  private timer: ReturnType<typeof setTimeout> | null = null;
  private checkSeq = 0;

  get hasErrors(): boolean {
    return Object.keys(this.check.errors).length > 0;
  }

  get canSave(): boolean {
    return this.touched.length > 0 && !this.hasErrors && !this.saving;
  }

  async load(): Promise<void> {
    try {
      const view = await readSettings();
      this.view = view;
      this.values = Object.fromEntries(view.groups.flatMap((g) => g.fields.map((f) => [f.key, f.value])));
      this.touched = [];
      this.loadError = null;
      this.runCheck();
    } catch (err) {
      this.loadError = problemOf(err);
    }
  }

  /** The touched values, as sent to check_settings and save_settings. */
  edits(): Record<string, string> {
    return Object.fromEntries(this.touched.map((k) => [k, this.values[k] ?? '']));
  }

  edited(key: string): void {
    if (!this.touched.includes(key)) this.touched = [...this.touched, key];
    this.outcome = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.runCheck(), CHECK_DELAY_MS);
  }

  private runCheck(): void {
    this.timer = null;
    const seq = ++this.checkSeq;
    checkSettings(this.edits()).then(
      (c) => seq === this.checkSeq && (this.check = c),
      (err) => seq === this.checkSeq && (this.saveError = problemOf(err)),
    );
  }

  async save(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.saving = true;
    this.saveError = null;
    try {
      const outcome = await saveSettings(this.edits());
      this.outcome = outcome;
      if (outcome.ok) {
        await this.load();
      } else {
        this.check = { ...this.check, errors: outcome.errors };
      }
    } catch (err) {
      this.saveError = problemOf(err);
    } finally {
      this.saving = false;
    }
  }

  async testConnection(): Promise<void> {
    this.testing = true;
    try {
      this.connection = await testConnection();
      this.connectionError = null;
    } catch (err) {
      this.connection = null;
      this.connectionError = problemOf(err);
    } finally {
      this.testing = false;
    }
  }
}
