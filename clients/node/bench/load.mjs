// The package's side of `make bench` (tools/bench/src/node_load.rs): times, in this process and
// through the same SDK client, the one-request floor (a GetItem of the snapshot), the plan's own
// floor (the load's two Queries sent at once, nothing done with their answers), a full replay
// (every event read and folded by the reference fold), and the package's load, each `runs` times
// after one untimed round, the modes taking turns. Prints one JSON line.
//
// usage: node bench/load.mjs <endpoint> <eventsTable> <snapshotsTable> <orderId> <snapshotVersion> <runs> <readAhead>
import { performance } from "node:perf_hooks";
import { DynamoDBClient, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { createOrderStore, decodeEventItem, referenceFold } from "../dist/esm/index.js";

const [endpoint, eventsTable, snapshotsTable, orderId, snapshotVersion, runs, readAhead] = process.argv.slice(2);
if (readAhead === undefined) {
  console.error("usage: node bench/load.mjs <endpoint> <eventsTable> <snapshotsTable> <orderId> <snapshotVersion> <runs> <readAhead>");
  process.exit(2);
}
const client = new DynamoDBClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
});
const store = createOrderStore({ client, eventsTable, snapshotsTable, readAhead: Number(readAhead) });

async function floor() {
  const got = await client.send(
    new GetItemCommand({ TableName: snapshotsTable, Key: { orderId: { S: orderId }, version: { N: snapshotVersion } } }),
  );
  if (!got.Item) throw new Error("the snapshot is missing");
}

/** The two reads a load sends at once (the newest snapshot, the newest events), and nothing else. */
async function bothQueries() {
  const query = (TableName, Limit, ConsistentRead) =>
    client.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: "orderId = :id",
        ExpressionAttributeValues: { ":id": { S: orderId } },
        ScanIndexForward: false,
        Limit,
        ConsistentRead,
      }),
    );
  await Promise.all([query(eventsTable, Number(readAhead), true), query(snapshotsTable, 1, false)]);
}

async function replay() {
  let state = referenceFold.empty(orderId);
  let start;
  let items = 0;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: eventsTable,
        KeyConditionExpression: "orderId = :id",
        ExpressionAttributeValues: { ":id": { S: orderId } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) state = referenceFold.apply(state, decodeEventItem(item));
    items += page.Items?.length ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return { version: state.version, items };
}

const modes = [floor, replay, () => store.load(orderId), bothQueries];
const times = modes.map(() => []);
let loaded;
let replayed;
for (let round = 0; round <= Number(runs); round += 1) {
  for (let k = 0; k < modes.length; k += 1) {
    const mode = (round + k) % modes.length;
    const started = performance.now();
    const result = await modes[mode]();
    const elapsed = performance.now() - started;
    if (round > 0) times[mode].push(elapsed);
    if (mode === 1) replayed = result;
    if (mode === 2) loaded = result;
  }
}
if (loaded.version !== replayed.version) throw new Error(`load ${loaded.version} != replay ${replayed.version}`);
const { state: _, unusable, ...cost } = loaded;
console.log(
  JSON.stringify({ floorMs: times[0], replayMs: times[1], loadMs: times[2], bothQueriesMs: times[3], load: cost, unusable, replayItems: replayed.items }),
);
client.destroy();
