// A command's answer as component state: `value` once it arrives, or `problem` if it failed.
import { problemOf, type CommandError } from './bridge';

export class Loaded<T> {
  value = $state<T | null>(null);
  problem = $state<CommandError | null>(null);

  /** Starts `load` at once (a component calls this while it is created). */
  constructor(load: () => Promise<T>) {
    load().then(
      (value) => (this.value = value),
      (err) => (this.problem = problemOf(err)),
    );
  }
}
