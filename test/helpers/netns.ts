/**
 * Linux network namespaces for partition tests: a namespace per party, joined by veth pairs whose links the
 * test cuts (`ip link set … down`) and restores. Names are `gslbrf<pid><tag>` so parallel runs never collide,
 * addresses are 10.x only inside namespaces made here, and `destroy()` deletes every namespace it made (which
 * deletes their veths). Root only: `canUseNetns()` says why not, for a clear skip.
 */
import { execFile, execFileSync } from 'node:child_process';

export function canUseNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return '`ip netns` is not available (install iproute2)';
  }
  return undefined;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export class NetnsLab {
  private readonly made: string[] = [];
  private readonly prefix = `gslbrf${process.pid}`;

  /** A namespace with its loopback up. */
  namespace(tag: string): string {
    const name = `${this.prefix}${tag}`;
    ip(['netns', 'add', name]);
    this.made.push(name);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /**
   * A veth pair between two namespaces made here, each end with its address (CIDR form, e.g. 10.77.1.1/30).
   * Returns the interface names (`<prefix><tag>a` in `a`, `<prefix><tag>b` in `b`); at most 15 characters.
   */
  link(tag: string, a: { ns: string; address: string }, b: { ns: string; address: string }): { a: string; b: string } {
    const ia = `${this.prefix}${tag}a`;
    const ib = `${this.prefix}${tag}b`;
    if (ia.length > 15) throw new Error(`interface name ${ia} is longer than 15 characters`);
    ip(['link', 'add', ia, 'netns', a.ns, 'type', 'veth', 'peer', 'name', ib, 'netns', b.ns]);
    ip(['-n', a.ns, 'addr', 'add', a.address, 'dev', ia]);
    ip(['-n', b.ns, 'addr', 'add', b.address, 'dev', ib]);
    ip(['-n', a.ns, 'link', 'set', ia, 'up']);
    ip(['-n', b.ns, 'link', 'set', ib, 'up']);
    return { a: ia, b: ib };
  }

  setLink(ns: string, dev: string, up: boolean): void {
    ip(['-n', ns, 'link', 'set', dev, up ? 'up' : 'down']);
  }

  /** Run a command inside a namespace, asynchronously (the test process may serve something meanwhile). */
  exec(ns: string, cmd: string[], timeoutMs = 15_000): Promise<ExecResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      execFile('ip', ['netns', 'exec', ns, ...cmd], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      });
    });
  }

  /** The argv prefix that runs a program inside `ns` (`ip netns exec` execs it: the child's PID is the program's). */
  wrap(ns: string): string[] {
    return ['ip', 'netns', 'exec', ns];
  }

  destroy(): void {
    for (const ns of this.made.splice(0).reverse()) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
  }
}
