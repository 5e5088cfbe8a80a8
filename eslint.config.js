// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const NO_FOCUSED_TESTS = [
  {
    selector: "CallExpression[callee.object.name='it'][callee.property.name=/^(only|skip)$/]",
    message: "No focused or skipped tests.",
  },
  {
    selector: "CallExpression[callee.object.name='describe'][callee.property.name=/^(only|skip)$/]",
    message: "No focused or skipped tests.",
  },
];

// A test's bare polling loop outlives the test's timeout (mocha moves on, the loop keeps the process
// alive) and fails without saying what never came.
const NO_BARE_WAITS = [
  {
    selector: "WhileStatement",
    message: "Wait with until() from test/helpers/wait.ts: it is bounded and names what never came.",
  },
  {
    selector: "DoWhileStatement",
    message: "Wait with until() from test/helpers/wait.ts: it is bounded and names what never came.",
  },
  {
    selector: "ForStatement[test=null]",
    message: "Wait with until() from test/helpers/wait.ts: it is bounded and names what never came.",
  },
  {
    // A counted loop that pauses and falls through when its count runs out: the assertion after it
    // then fails with nothing said about what never came (or passes on a state never reached).
    selector: "ForStatement[test.type='LogicalExpression'] CallExpression[callee.name=/^(setTimeout|sleep)$/]",
    message: "Wait with until() from test/helpers/wait.ts: it is bounded and names what never came.",
  },
];

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "artifacts/",
      "cache/",
      "coverage/",
      "types/",
      "ignition/deployments/",
      "**/dist/",
      "sdk/src/generated/",
      "build/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["eslint.config.js"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Sunpool rule: errors carry values and say what to do; a bare `throw "text"` cannot.
      "@typescript-eslint/only-throw-error": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": ["error", ...NO_FOCUSED_TESTS],
    },
  },
  {
    // The board simulator is written from docs/hardware.md, never from the drivers it checks: a value
    // imported from worker/src/hardware (a register map, a table, a scale) would make a wrong driver
    // agree with its own simulator. Types and the bus/clock contracts (bus.ts, clock.ts) are shared.
    files: ["worker/src/simulator/**/*.ts"],
    rules: {
      "no-restricted-imports": "off",
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "(^|/)hardware(/(?!(bus|clock)(\\.js)?$).*)?$",
              allowTypeImports: true,
              message:
                "The simulator keeps its own register maps and tables, written from docs/hardware.md; only `import type` and hardware/bus.js, hardware/clock.js may come from the drivers.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["test/**/*.ts"],
    ignores: ["test/helpers/wait.ts"],
    rules: {
      "no-restricted-syntax": ["error", ...NO_FOCUSED_TESTS, ...NO_BARE_WAITS],
      // chai's `expect(x).to.be.true` style reads as an unused expression.
      "@typescript-eslint/no-unused-expressions": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
