// App-level UI state shared by the views: which view shows, run options, app info.
import { appInfo, problemOf, type AppInfo, type CommandError, type RunOptions } from './bridge';

export type View = 'run' | 'map' | 'history' | 'settings' | 'report';

class Ui {
  view = $state<View>('run');
  reportFile = $state<string | null>(null);
  info = $state<AppInfo | null>(null);
  infoError = $state<CommandError | null>(null);
  options = $state<RunOptions>({ skip_download: false, skip_validation: false, from_step: null, force: false });

  openReport(file: string): void {
    this.reportFile = file;
    this.view = 'report';
  }

  async loadInfo(): Promise<void> {
    try {
      this.info = await appInfo();
      this.infoError = null;
    } catch (err) {
      this.infoError = problemOf(err);
    }
  }
}

export const ui = new Ui();
