// Mocha's spec reporter plus each test file's time ("[test] file <path>: N s", slowest first), so a
// CI log says which files to move between the lanes of scripts/test.sh (docs/engineering.md).
import { relative } from "node:path";

import Mocha from "mocha";

const { EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_SUITE_END } = Mocha.Runner.constants;

class TimedSpec extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const started = new Map<Mocha.Suite, number>();
    const seconds = new Map<string, number>();
    const isFileSuite = (suite: Mocha.Suite) => suite.file !== undefined && suite.parent?.root === true;
    runner.on(EVENT_SUITE_BEGIN, (suite: Mocha.Suite) => {
      if (isFileSuite(suite)) started.set(suite, performance.now());
    });
    runner.on(EVENT_SUITE_END, (suite: Mocha.Suite) => {
      const from = started.get(suite);
      if (from === undefined) return;
      const file = relative(process.cwd(), suite.file!);
      seconds.set(file, (seconds.get(file) ?? 0) + (performance.now() - from) / 1000);
    });
    runner.once(EVENT_RUN_END, () => {
      for (const [file, time] of [...seconds].sort((a, b) => b[1] - a[1])) {
        console.log(`[test] file ${file}: ${time.toFixed(1)} s`);
      }
    });
  }
}

// Mocha loads a reporter named by path with require(); this makes the class what require() returns.
export { TimedSpec as "module.exports" };
