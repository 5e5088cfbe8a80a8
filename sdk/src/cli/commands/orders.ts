// sunpool order publish|list|cancel
import { type Command, Option } from "commander";

import { cancelOrder, publishOrder } from "../../actions/market.js";
import { InvalidInputError } from "../../errors/input.js";
import { loadRequest } from "../../node/requests.js";
import { createAppOrder, createDatasetOrder, createWorkerpoolOrder } from "../../orders/build.js";
import { ORDER_KINDS, type OrderKind } from "../../orders/eip712.js";
import { listOrders } from "../../scheduler/client.js";
import type { Context } from "../context.js";
import { parseSun } from "./account.js";

interface PublishOptions {
  kind: "app" | "dataset" | "workerpool";
  app?: string;
  dataset?: string;
  workerpool?: string;
  price: string;
  volume: string;
  tag?: string;
  category: string;
  trust: string;
  requester?: string;
}

export function registerOrderCommands(program: Command, context: () => Context): void {
  const order = program.command("order").description("Orders at the scheduler's order book");
  order
    .command("publish")
    .description("Sign and publish an app, dataset or workerpool order (requests are made by sunpool run)")
    .addOption(new Option("--kind <kind>", "order kind").choices(["app", "dataset", "workerpool"]).makeOptionMandatory())
    .option("--app <id>", "the app (app orders), or the only app allowed (dataset/workerpool orders)")
    .option("--dataset <id>", "the dataset (dataset orders), or the only dataset allowed")
    .option("--workerpool <id>", "the workerpool (workerpool orders), or the only workerpool allowed")
    .requiredOption("--price <SUN>", "price per task")
    .option("--volume <n>", "number of tasks the order may serve", "1")
    .option("--tag <bytes32>", "tag bits required (app/dataset) or offered (workerpool)")
    .option("--category <n>", "workerpool orders: category served (0-4)", "0")
    .option("--trust <n>", "workerpool orders: highest trust served", "1")
    .option("--requester <address>", "the only requester allowed")
    .addHelpText(
      "after",
      "\nExamples:\n  $ sunpool order publish --kind app --app 0x5b1e... --price 1 --volume 1000\n  $ sunpool order publish --kind workerpool --workerpool 0x9c0d... --price 2 --volume 100 --trust 3",
    )
    .action(async (options: PublishOptions) => {
      const ctx = context();
      const client = await ctx.client(true);
      const scheduler = await ctx.scheduler();
      const common = {
        price: parseSun(options.price),
        volume: options.volume,
        ...(options.tag === undefined ? {} : { tag: options.tag }),
        ...(options.requester === undefined ? {} : { requesterRestrict: options.requester }),
      };
      const need = (value: string | undefined, flag: string) => {
        if (value === undefined) throw new InvalidInputError(flag, undefined, `${flag} <id> for a ${options.kind} order`);
        return value;
      };
      let record;
      if (options.kind === "app") {
        const built = createAppOrder({
          ...common,
          app: need(options.app, "--app"),
          ...(options.dataset === undefined ? {} : { datasetRestrict: options.dataset }),
          ...(options.workerpool === undefined ? {} : { workerpoolRestrict: options.workerpool }),
        });
        record = await publishOrder(client, scheduler, { kind: "app", order: built });
      } else if (options.kind === "dataset") {
        const built = createDatasetOrder({
          ...common,
          dataset: need(options.dataset, "--dataset"),
          ...(options.app === undefined ? {} : { appRestrict: options.app }),
          ...(options.workerpool === undefined ? {} : { workerpoolRestrict: options.workerpool }),
        });
        record = await publishOrder(client, scheduler, { kind: "dataset", order: built });
      } else {
        const built = createWorkerpoolOrder({
          ...common,
          workerpool: need(options.workerpool, "--workerpool"),
          category: options.category,
          trust: options.trust,
          ...(options.app === undefined ? {} : { appRestrict: options.app }),
          ...(options.dataset === undefined ? {} : { datasetRestrict: options.dataset }),
        });
        record = await publishOrder(client, scheduler, { kind: "workerpool", order: built });
      }
      ctx.output.result(record, [`Published ${record.kind} order ${record.hash} (volume ${record.remaining})`]);
    });
  order
    .command("list")
    .description("List orders at the book")
    .addOption(new Option("--kind <kind>", "order kind").choices([...ORDER_KINDS]).makeOptionMandatory())
    .option("--app <id>")
    .option("--dataset <id>")
    .option("--workerpool <id>")
    .option("--signer <address>")
    .addOption(new Option("--status <status>").choices(["open", "filled", "cancelled", "any"]).default("open"))
    .addHelpText("after", "\nExamples:\n  $ sunpool order list --kind app\n  $ sunpool order list --kind workerpool --json")
    .action(
      async (options: {
        kind: OrderKind;
        app?: string;
        dataset?: string;
        workerpool?: string;
        signer?: string;
        status: "open";
      }) => {
        const ctx = context();
        const page = await listOrders(await ctx.scheduler(), { ...options, limit: 100 });
        ctx.output.result(
          page.orders,
          page.orders.length === 0
            ? [`No ${options.status} ${options.kind} orders.`]
            : page.orders.map((o) => `${o.hash}  ${o.kind}  ${o.status}  remaining ${o.remaining}  signer ${o.signer}`),
        );
      },
    );
  order
    .command("cancel <hash>")
    .description(
      "Cancel one of your orders on-chain, then remove it from the book (requests: works from the local copy when the book is gone)",
    )
    .addHelpText("after", "\nExamples:\n  $ sunpool order cancel 0x1f2e...")
    .action(async (hash: string) => {
      const ctx = context();
      const saved = await loadRequest(await ctx.requestsFolder(), hash);
      const target = saved === undefined ? { hash } : { kind: "request" as const, order: saved.order };
      const result = await cancelOrder(await ctx.client(true), await ctx.scheduler(), target);
      ctx.output.result(result, [
        `Cancelled ${hash}${result.transactionHash ? ` (tx ${result.transactionHash})` : " (already exhausted on-chain)"}`,
      ]);
    });
}
