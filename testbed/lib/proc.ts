/**
 * Child processes of the testbed: each runs in its own process group
 * (`detached`), logs stdout+stderr to `<logDir>/<name>.log`, and is ended by
 * signalling the whole group, so grandchildren (nginx workers, MLServer
 * workers) go with it.
 *
 * A registry file lists every group with the supervisor's pid, so a later
 * start can reap what a supervisor killed with SIGKILL left behind
 * (see {@link reapStaleRuns}).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  name: string;
  pid: number;
  command: string;
  logFile: string;
  child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<ExitInfo>;
  /** Set once exited. */
  exit?: ExitInfo;
  stopLast: boolean;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Signal this one only once every other process has gone (etcd: the API
   * server's graceful stop waits on it, and it waits on the API server's
   * connections if both are stopped at once).
   */
  stopLast?: boolean;
}

interface RegistryEntry {
  name: string;
  pid: number;
  command: string;
}

interface Registry {
  supervisorPid: number;
  startedAt: string;
  children: RegistryEntry[];
}

/** The process state letter from /proc/<pid>/stat, or undefined when gone. */
function procState(pid: number): { state: string; ppid: number; pgrp: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { state: fields[0] ?? '?', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}

/** True when `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/** Live (non-zombie) pids whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const s = procState(pid);
    if (s && s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X') out.push(pid);
  }
  return out;
}

/** Live (non-zombie) direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = procState(Number(entry));
    if (s && s.ppid === pid && s.state !== 'Z' && s.state !== 'X') out.push(Number(entry));
  }
  return out;
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Group already gone.
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts and ends the testbed's child processes. */
export class ProcessSupervisor {
  private readonly procs: ManagedProcess[] = [];
  private stopping = false;

  constructor(
    private readonly logDir: string,
    private readonly registryFile: string,
  ) {
    this.writeRegistry();
  }

  /** Every process started so far (including those that exited). */
  list(): readonly ManagedProcess[] {
    return this.procs;
  }

  start(name: string, command: string, args: string[], options: StartOptions = {}): ManagedProcess {
    if (this.stopping) throw new Error(`testbed is stopping; not starting ${name}`);
    const logFile = join(this.logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      throw new Error(`could not start ${name} (${command}); see ${logFile}`);
    }
    // Keep the supervisor's event loop independent of the child.
    child.unref();
    const proc: ManagedProcess = {
      name,
      pid: child.pid,
      command: [command, ...args].join(' '),
      logFile,
      child,
      stopLast: options.stopLast ?? false,
      exited: new Promise<ExitInfo>((resolve) => {
        child.once('exit', (code, signal) => {
          proc.exit = { code, signal };
          resolve(proc.exit);
        });
        child.once('error', () => {
          proc.exit ??= { code: -1, signal: null };
          resolve(proc.exit);
        });
      }),
    };
    this.procs.push(proc);
    this.writeRegistry();
    return proc;
  }

  /** Pids of the group leaders still alive. */
  livePids(): number[] {
    return this.procs.filter((p) => isAlive(p.pid)).map((p) => p.pid);
  }

  /** Every live process in any of our groups (leaders and their descendants in the group). */
  liveGroupMembers(): number[] {
    return this.procs.flatMap((p) => groupMembers(p.pid));
  }

  /**
   * Ends every group: SIGTERM in reverse start order, then SIGKILL for what is
   * still alive after `graceMs`.
   */
  async stopAll(graceMs = 5000): Promise<{ killed: string[] }> {
    this.stopping = true;
    const killed: string[] = [];
    const reversed = [...this.procs].reverse();
    for (const tier of [reversed.filter((p) => !p.stopLast), reversed.filter((p) => p.stopLast)]) {
      const alive = () => tier.flatMap((p) => groupMembers(p.pid));
      for (const p of tier) signalGroup(p.pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && alive().length > 0) await sleep(20);
      for (const p of tier) {
        if (groupMembers(p.pid).length > 0) {
          killed.push(p.name);
          signalGroup(p.pid, 'SIGKILL');
        }
      }
      const killDeadline = Date.now() + 3000;
      while (Date.now() < killDeadline && alive().length > 0) await sleep(20);
    }
    this.writeRegistry();
    return { killed };
  }

  /** Ends one process group (SIGTERM, SIGKILL after `graceMs`); the others keep running. */
  async stopProcess(proc: ManagedProcess, graceMs = 5000): Promise<void> {
    signalGroup(proc.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && groupMembers(proc.pid).length > 0) await sleep(20);
    if (groupMembers(proc.pid).length > 0) signalGroup(proc.pid, 'SIGKILL');
    await proc.exited;
    this.writeRegistry();
  }

  /** Synchronous last resort (process 'exit' handler): SIGKILL every group. */
  killAllSync(): void {
    this.stopping = true;
    for (const p of this.procs) signalGroup(p.pid, 'SIGKILL');
  }

  private writeRegistry(): void {
    const reg: Registry = {
      supervisorPid: process.pid,
      startedAt: new Date().toISOString(),
      children: this.procs.filter((p) => !p.exit).map((p) => ({ name: p.name, pid: p.pid, command: p.command })),
    };
    try {
      writeFileSync(this.registryFile, JSON.stringify(reg, null, 2));
    } catch {
      // The run dir may already be gone during shutdown.
    }
  }
}

/**
 * Ends the children of earlier runs whose supervisor died without stopping
 * them (SIGKILL, OOM). A group is only signalled if its leader's command line
 * still matches what was recorded, so a recycled pid is left alone.
 *
 * @returns the names of the processes it ended.
 */
export function reapStaleRuns(runsRoot: string): string[] {
  if (!existsSync(runsRoot)) return [];
  const reaped: string[] = [];
  for (const run of readdirSync(runsRoot)) {
    const file = join(runsRoot, run, 'children.json');
    let reg: Registry;
    try {
      reg = JSON.parse(readFileSync(file, 'utf8')) as Registry;
    } catch {
      continue;
    }
    if (reg.supervisorPid === process.pid || isAlive(reg.supervisorPid)) continue;
    for (const c of reg.children) {
      const line = cmdline(c.pid);
      if (line === undefined || !isAlive(c.pid)) continue;
      const recordedExe = c.command.split(' ')[0] ?? '';
      if (!line.includes(recordedExe.split('/').pop() ?? '\0')) continue;
      signalGroup(c.pid, 'SIGKILL');
      reaped.push(`${c.name} (pid ${c.pid}, run ${run})`);
    }
    // The run's files (etcd data, certificates) are of no use without it.
    rmSync(join(runsRoot, run), { recursive: true, force: true });
  }
  return reaped;
}

/** Last `lines` lines of a log file, for error messages. */
export function tail(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
