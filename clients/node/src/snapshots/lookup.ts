// The newest usable snapshot of an order. The first request reads one item (the common case:
// the newest is usable); past an unusable one, the rest is read in one request (after a fold
// change every snapshot of an order is unusable, and one round trip finds that out).
import { type DynamoDBClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/client-dynamodb";
import { addPage, noCost, type ReadCost } from "../dynamo/cost.js";
import { type Reader, type Snapshot, type UnusableSnapshot, checkSnapshot, isUsable } from "./check.js";

/** How far back a lookup looks past unusable snapshots before giving up on them. */
const MAX_SNAPSHOTS_EXAMINED = 10;

export interface SnapshotLookup {
  snapshot?: Snapshot;
  /** The unusable snapshots newer than it, newest first. */
  passedOver: UnusableSnapshot[];
  cost: ReadCost;
}

export class SnapshotReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  /** The newest usable snapshot among those covering at most `upto` (all when absent). */
  async newestUsable(orderId: string, upto: number | undefined, reader: Reader): Promise<SnapshotLookup> {
    const lookup: SnapshotLookup = { passedOver: [], cost: noCost() };
    let start: QueryCommandInput["ExclusiveStartKey"];
    let limit = 1;
    while (lookup.passedOver.length < MAX_SNAPSHOTS_EXAMINED) {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: upto === undefined ? "orderId = :id" : "orderId = :id AND version <= :upto",
          ExpressionAttributeValues: {
            ":id": { S: orderId },
            ...(upto === undefined ? {} : { ":upto": { N: String(upto) } }),
          },
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: start,
        }),
      );
      addPage(lookup.cost, page.Items ?? [], false);
      for (const item of page.Items ?? []) {
        const checked = checkSnapshot(item, reader);
        if (isUsable(checked)) {
          lookup.snapshot = checked;
          return lookup;
        }
        lookup.passedOver.push(checked);
      }
      if (!page.LastEvaluatedKey || Object.keys(page.LastEvaluatedKey).length === 0) break;
      start = page.LastEvaluatedKey;
      limit = Math.max(1, MAX_SNAPSHOTS_EXAMINED - lookup.passedOver.length);
    }
    return lookup;
  }
}
