// Settings form state: what the user touched (form fields and the other keys of .env), live
// checks (debounced), save and its outcome. The engine validates and masks; this only collects.
import {
  checkSettings, problemOf, readSettings, saveSettings, testConnection,
  type CommandError, type EnvKeyEdit, type SaveOutcome, type SettingsCheck, type SettingsEdits,
  type SettingsView,
} from './bridge';

/** A key being added to .env. */
export interface NewKey {
  key: string;
  value: string;
}

export const CHECK_DELAY_MS = 250;

export class SettingsForm {
  view = $state<SettingsView | null>(null);
  loadError = $state<CommandError | null>(null);
  /** Current input values by key (secrets start empty and are cleared after saving). */
  values = $state<Record<string, string>>({});
  touched = $state<string[]>([]);
  /** Inputs of the other keys of .env, by key (secrets start empty: typing replaces). */
  envValues = $state<Record<string, string>>({});
  envTouched = $state<string[]>([]);
  envRemoved = $state<string[]>([]);
  added = $state<NewKey[]>([]);
  check = $state<SettingsCheck>({ errors: {}, area: null, secret_keys: [] });
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

  /** How many fields and keys the next save writes. */
  get editCount(): number {
    return this.touched.length + this.envEdits().length;
  }

  get canSave(): boolean {
    return this.editCount > 0 && !this.hasErrors && !this.saving;
  }

  async load(): Promise<void> {
    try {
      const view = await readSettings();
      this.view = view;
      this.values = Object.fromEntries(view.groups.flatMap((g) => g.fields.map((f) => [f.key, f.value])));
      this.touched = [];
      this.envValues = Object.fromEntries(view.env_keys.map((k) => [k.key, k.value]));
      this.envTouched = [];
      this.envRemoved = [];
      this.added = [];
      this.loadError = null;
      this.runCheck();
    } catch (err) {
      this.loadError = problemOf(err);
    }
  }

  /** The edits of the other keys: changed values, removals, then the keys being added. */
  envEdits(): EnvKeyEdit[] {
    const edits: EnvKeyEdit[] = [];
    for (const key of this.envTouched) {
      if (!this.envRemoved.includes(key)) edits.push({ action: 'set', key, value: this.envValues[key] ?? '' });
    }
    for (const key of this.envRemoved) edits.push({ action: 'remove', key });
    for (const { key, value } of this.added) {
      if (key !== '' || value !== '') edits.push({ action: 'set', key: key.trim(), value });
    }
    return edits;
  }

  /** Everything touched, as sent to check_settings and save_settings. */
  edits(): SettingsEdits {
    return {
      values: Object.fromEntries(this.touched.map((k) => [k, this.values[k] ?? ''])),
      env_keys: this.envEdits(),
    };
  }

  edited(key: string): void {
    if (!this.touched.includes(key)) this.touched = [...this.touched, key];
    this.changed();
  }

  envEdited(key: string): void {
    if (!this.envTouched.includes(key)) this.envTouched = [...this.envTouched, key];
    this.changed();
  }

  /** Marks a key for removal on save, or keeps it again. */
  toggleRemove(key: string): void {
    this.envRemoved = this.envRemoved.includes(key)
      ? this.envRemoved.filter((k) => k !== key)
      : [...this.envRemoved, key];
    this.changed();
  }

  addKey(): void {
    this.added = [...this.added, { key: '', value: '' }];
  }

  dropAdded(index: number): void {
    this.added = this.added.filter((_, i) => i !== index);
    this.changed();
  }

  /** Something was edited: the last outcome is stale, and a check is due. */
  changed(): void {
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
