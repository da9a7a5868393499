// Stress run of the ring's concurrent tests: `npm run stress:ring [-- runs [burners]]`.
//
// Runs test/ring.test.ts again and again in fresh vitest processes with CPU burners beside it
// (`node -e 'for(;;);'`, 3 by default), so that the threads of the test lose the CPU at
// arbitrary points, and reports passes, failures and hangs (a run past its deadline is
// killed and counted as a hang). Too long for `npm test`; kept for changes to ring.ts.
// PERFWATCH_STRESS_DIR runs it in another checkout (to compare builds).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 200);
const burners = Number(process.argv[3] ?? 3);
const deadlineMs = Number(process.env.PERFWATCH_STRESS_DEADLINE_MS ?? 90_000);
const cwd = process.env.PERFWATCH_STRESS_DIR ?? fileURLToPath(new URL('..', import.meta.url));

const burning = Array.from({ length: burners }, () => spawn(process.execPath, ['-e', 'for(;;);'], { stdio: 'ignore' }));
const stopBurners = () => {
  for (const b of burning) b.kill('SIGKILL');
};
process.on('SIGINT', () => {
  stopBurners();
  process.exit(130);
});

function runOnce() {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/ring.test.ts', '--testTimeout', String(deadlineMs)], { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // it ended meanwhile
      }
    }, deadlineMs + 30_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const hung = signal === 'SIGKILL' || /timed out/i.test(out);
      resolve({ ms: Date.now() - t0, outcome: code === 0 ? 'pass' : hung ? 'hang' : 'fail', out });
    });
  });
}

const tally = { pass: 0, fail: 0, hang: 0 };
const times = [];
for (let i = 1; i <= runs; i++) {
  const r = await runOnce();
  tally[r.outcome]++;
  times.push(r.ms);
  if (r.outcome !== 'pass') process.stdout.write(`\nrun ${i}: ${r.outcome} after ${r.ms} ms\n${r.out.split('\n').filter((l) => /FAIL|Error|timed out|✗|×/.test(l)).slice(0, 12).join('\n')}\n`);
  else process.stdout.write('.');
}
stopBurners();
times.sort((a, b) => a - b);
console.log(`\n${runs} runs of test/ring.test.ts with ${burners} CPU burners: ${tally.pass} passed, ${tally.fail} failed, ${tally.hang} hung; run time median ${times[times.length >> 1]} ms, max ${times.at(-1)} ms`);
process.exit(tally.fail + tally.hang > 0 ? 1 : 0);
