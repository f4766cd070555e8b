//! Running one command step's process: its environment, its output streamed line by line into
//! the step's log (with the progress protocol), and stopping its whole process group on a
//! timeout, a Cancel, or when it ends, so that no child outlives the step.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::CommandSpec;
use crate::pipeline::{StepContext, StepError};
use crate::settings::OPTIONS;

/// A stdout line `agriflux:progress {"done":3,"total":50,"unit":"epoch"}` moves the step's
/// progress bar.
pub const PROGRESS_PREFIX: &str = "agriflux:progress ";
/// A stdout line `agriflux:metric {"series":"real/val_loss","x":3,"value":0.41}` adds a point
/// to a live curve.
pub const METRIC_PREFIX: &str = "agriflux:metric ";
/// How many of the last error-output lines a failure message quotes.
pub const OUTPUT_TAIL_LINES: usize = 20;
/// The longest line kept whole; a longer one is cut into pieces of this size (so that a command
/// writing megabytes without a newline cannot grow the engine's memory).
const MAX_LINE_BYTES: usize = 8 * 1024;
/// Lines waiting to be logged; a command that writes faster than they are logged waits.
const QUEUE_LINES: usize = 256;
/// How long a stopped command has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// How long the output of a finished command may stay quiet before the step stops reading it.
const DRAIN_QUIET: Duration = Duration::from_secs(2);
/// How often the step looks at Cancel and the timeout while the command is quiet.
const POLL: Duration = Duration::from_millis(50);

/// How a command ended.
#[derive(Debug)]
pub struct Finished {
    /// Its exit code.
    pub exit_code: i32,
    /// How many lines it wrote.
    pub lines: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

struct Line {
    stream: Stream,
    text: String,
}

#[derive(Deserialize)]
struct Progress {
    done: u64,
    total: u64,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Metric {
    series: String,
    x: f64,
    value: f64,
}

/// What the step keeps of the command's output besides its log.
struct Output {
    /// The last lines of its error output, for the failure message.
    tail: VecDeque<String>,
    /// Lines seen.
    count: u64,
    /// The secret the command was given, masked in every line it writes.
    secret: Option<String>,
}

/// Why the loop stopped the command.
enum Stop {
    Cancelled,
    TimedOut(u64),
}

/// Runs `argv` for the step of `ctx` and waits for it, streaming its output; fails with its
/// last error lines first when it exits non-zero.
pub fn run_command(
    ctx: &mut StepContext<'_>,
    spec: &CommandSpec,
    argv: &[String],
) -> Result<Finished, StepError> {
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .current_dir(ctx.workdir.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Every setting as `AGRIFLUX_*`; the secret only when the step asks for it by name (and
    // not even inherited from the shell that started AgriFlux).
    for secret in super::spec::SECRETS {
        command.env_remove(secret);
    }
    for option in OPTIONS {
        command.env(option.env_key(), (option.current)(ctx.settings));
    }
    command
        .env("AGRIFLUX_WORKDIR", ctx.workdir.root())
        .env("AGRIFLUX_RUN_ID", ctx.run_id)
        .env("AGRIFLUX_STEP", ctx.step.as_str());
    for name in &spec.secrets {
        command.env(name, ctx.settings.sentinel_hub.client_secret.expose());
    }
    command.envs(&spec.env);
    #[cfg(unix)]
    {
        // Its own process group, so that stopping it stops whatever it started.
        use std::os::unix::process::CommandExt as _;
        command.process_group(0);
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt as _;
        // SAFETY: between fork and exec the closure makes one async-signal-safe system call
        // (prctl) and allocates nothing. Should AgriFlux die without stopping the command (a
        // SIGKILL, a crash), the kernel sends the command SIGKILL: it does not run on alone.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
    }
    let mut child = command
        .spawn()
        .map_err(|e| StepError::failed(format!("cannot start {}: {e}", argv[0])))?;
    let _registered = RunningGroup::register(&child);
    let (sender, lines) = sync_channel(QUEUE_LINES);
    let readers = [
        read_lines(child.stdout.take(), Stream::Stdout, sender.clone()),
        read_lines(child.stderr.take(), Stream::Stderr, sender),
    ];
    let deadline = spec
        .timeout
        .map(|s| (s, Instant::now() + Duration::from_secs(s)));
    let secret = ctx.settings.sentinel_hub.client_secret.expose();
    let mut output = Output {
        tail: VecDeque::with_capacity(OUTPUT_TAIL_LINES),
        count: 0,
        secret: (!spec.secrets.is_empty() && !secret.is_empty()).then(|| secret.to_string()),
    };
    let stopped = watch(ctx, &mut child, &lines, deadline, &mut output);
    let status = match stopped {
        Ok(status) => Some(status),
        Err(_) => terminate(&mut child),
    };
    // The leader is gone: whatever it left running in its group goes too.
    kill_group(&child, true);
    // The pipes close once every process holding them is gone; log what they still held. A
    // process that left the group (setsid) may hold them open: stop waiting for it after a
    // quiet moment, leaving its reader thread to end whenever the pipe does.
    loop {
        match lines.recv_timeout(DRAIN_QUIET) {
            Ok(line) => handle(ctx, line, &mut output),
            Err(RecvTimeoutError::Disconnected) => {
                for reader in readers.into_iter().flatten() {
                    let _ = reader.join();
                }
                break;
            }
            Err(RecvTimeoutError::Timeout) => break,
        }
    }
    match stopped {
        Err(Stop::Cancelled) => return Err(StepError::Cancelled),
        Err(Stop::TimedOut(s)) => {
            return Err(StepError::failed(format!(
                "{} timed out after {s} s (timeout in agriflux.toml) and was stopped",
                argv[0]
            )));
        }
        Ok(_) => {}
    }
    let Some(status) = status else {
        return Err(StepError::failed(format!(
            "{} could not be waited for after it was stopped",
            argv[0]
        )));
    };
    match status.code() {
        Some(0) => Ok(Finished {
            exit_code: 0,
            lines: output.count,
        }),
        code => {
            let how = code.map_or_else(
                || format!("was killed ({})", signal_of(&status)),
                |c| format!("exited with status {c}"),
            );
            let mut message: Vec<String> = output.tail.into_iter().collect();
            if message.is_empty() {
                message.push(format!("{} {how} (no error output)", argv[0]));
            } else {
                message.push(format!("({} {how})", argv[0]));
            }
            Err(StepError::Failed(message.join("\n")))
        }
    }
}

/// Logs the command's lines until it exits, the user cancels or the timeout passes.
fn watch(
    ctx: &mut StepContext<'_>,
    child: &mut Child,
    lines: &Receiver<Line>,
    deadline: Option<(u64, Instant)>,
    output: &mut Output,
) -> Result<ExitStatus, Stop> {
    loop {
        match lines.recv_timeout(POLL) {
            Ok(line) => handle(ctx, line, output),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Ok(status);
                }
                if matches!(
                    lines.try_recv(),
                    Err(std::sync::mpsc::TryRecvError::Disconnected)
                ) {
                    // Both pipes are closed but the process is still there: wait for it
                    // without spinning, still watching Cancel and the timeout.
                    std::thread::sleep(POLL);
                }
            }
        }
        if ctx.check_cancel().is_err() {
            return Err(Stop::Cancelled);
        }
        if let Some((seconds, at)) = deadline
            && Instant::now() >= at
        {
            return Err(Stop::TimedOut(seconds));
        }
    }
}

fn handle(ctx: &mut StepContext<'_>, mut line: Line, output: &mut Output) {
    output.count += 1;
    if let Some(secret) = &output.secret
        && line.text.contains(secret.as_str())
    {
        line.text = line.text.replace(secret.as_str(), "[secret hidden]");
    }
    if line.stream == Stream::Stdout {
        if let Some(json) = line.text.strip_prefix(PROGRESS_PREFIX)
            && let Ok(p) = serde_json::from_str::<Progress>(json)
        {
            ctx.progress(p.done, p.total, &p.unit, p.message);
            return;
        }
        if let Some(json) = line.text.strip_prefix(METRIC_PREFIX)
            && let Ok(m) = serde_json::from_str::<Metric>(json)
        {
            ctx.metric(&m.series, m.x, m.value);
            return;
        }
    } else {
        if output.tail.len() == OUTPUT_TAIL_LINES {
            output.tail.pop_front();
        }
        output.tail.push_back(line.text.clone());
    }
    ctx.info(line.text);
}

/// A thread that sends each line of `pipe` (cut at [`MAX_LINE_BYTES`]; bytes that are not
/// UTF-8 shown as U+FFFD, the line kept) until it closes.
fn read_lines(
    pipe: Option<impl Read + Send + 'static>,
    stream: Stream,
    sender: SyncSender<Line>,
) -> Option<std::thread::JoinHandle<()>> {
    let pipe = pipe?;
    Some(std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::with_capacity(256);
        loop {
            buf.clear();
            match reader
                .by_ref()
                .take(MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut buf)
            {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        buf.pop();
                    }
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if sender.send(Line { stream, text }).is_err() {
                        return;
                    }
                }
            }
        }
    }))
}

/// The process groups of the commands running now, for [`stop_running_commands`].
static RUNNING: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// A command's process group listed in [`RUNNING`] while the step supervises it.
struct RunningGroup(u32);

impl RunningGroup {
    fn register(child: &Child) -> Self {
        RUNNING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(child.id());
        Self(child.id())
    }
}

impl Drop for RunningGroup {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|id| *id != self.0);
    }
}

/// Stops every command step running in this process, with whatever each started (SIGTERM,
/// then SIGKILL after a second): for a program about to exit without waiting for its run (the
/// app's window closed, a second Ctrl-C), so that no command outlives it. Returns how many
/// commands were running.
pub fn stop_running_commands() -> usize {
    let groups = RUNNING.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for group in &groups {
        signal_group(*group, false);
    }
    if !groups.is_empty() {
        std::thread::sleep(Duration::from_secs(1));
        for group in &groups {
            signal_group(*group, true);
        }
    }
    groups.len()
}

/// Stops the command: SIGTERM to its group, SIGKILL after [`GRACE`]; returns how it ended
/// (`None`: the system would not say).
fn terminate(child: &mut Child) -> Option<ExitStatus> {
    kill_group(child, false);
    let until = Instant::now() + GRACE;
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_group(child, true);
    child.wait().ok()
}

/// Signals the command's whole process group (SIGKILL when `kill`, else SIGTERM).
fn kill_group(child: &Child, kill: bool) {
    signal_group(child.id(), kill);
}

/// Signals process group `group` (its leader's pid): SIGKILL when `kill`, else SIGTERM.
#[cfg(unix)]
fn signal_group(group: u32, kill: bool) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let signal = if kill {
        Signal::SIGKILL
    } else {
        Signal::SIGTERM
    };
    // ESRCH (the group is already empty) is the normal case after a clean exit.
    let _ = killpg(Pid::from_raw(group as i32), signal);
}

#[cfg(not(unix))]
fn signal_group(group: u32, _kill: bool) {
    // No process groups: the command and its children are stopped by the tree.
    let _ = std::process::Command::new("taskkill")
        .args(["/T", "/F", "/PID", &group.to_string()])
        .status();
}

#[cfg(unix)]
fn signal_of(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    status
        .signal()
        .and_then(|s| nix::sys::signal::Signal::try_from(s).ok())
        .map_or_else(|| "by a signal".into(), |s| s.as_str().to_string())
}

#[cfg(not(unix))]
fn signal_of(_status: &ExitStatus) -> String {
    "by the system".into()
}
