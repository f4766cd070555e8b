// App-level UI state shared by the views: which view shows, run options, app info, the open
// work directory and the folders the user can switch to.
import {
  appInfo,
  problemOf,
  type AppInfo,
  type CommandError,
  type RunOptions,
  type WorkspaceView,
} from './bridge';

export type View = 'run' | 'map' | 'history' | 'settings' | 'report' | 'about';

class Ui {
  view = $state<View>('run');
  reportFile = $state<string | null>(null);
  info = $state<AppInfo | null>(null);
  infoError = $state<CommandError | null>(null);
  options = $state<RunOptions>({ skip_download: false, skip_validation: false, from_step: null, force: false });
  /** The backend's `workspace_view`: null until it answered. */
  workspace = $state<WorkspaceView | null>(null);
  /**
   * After switching folders every store must reload from the new one: reloading the page is the
   * simplest way (the backend keeps the folder). Tests replace it.
   */
  reloadWindow: () => void = () => window.location.reload();

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
