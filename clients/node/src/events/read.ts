// Reading an order's event items: the newest ones (the read-ahead) and a range of sequences.
import { type DynamoDBClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/client-dynamodb";
import type { Item } from "../dynamo/attributes.js";
import { addPage, noCost, type ReadCost } from "../dynamo/cost.js";
import { EventItems } from "../load/in-hand.js";

export class EventReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  /** The newest `limit` events up to `upto`, in one request (strongly consistent). */
  async newest(orderId: string, upto: number | undefined, limit: number): Promise<[EventItems, ReadCost]> {
    const cost = noCost();
    const page = await this.client.send(
      new QueryCommand({
        ...this.keys(orderId, undefined, upto),
        ConsistentRead: true,
        ScanIndexForward: false,
        Limit: Math.max(1, limit),
      }),
    );
    const items = page.Items ?? [];
    addPage(cost, items, true);
    // Without a LastEvaluatedKey the read ran out of events, not of its limit.
    const fromStart = !page.LastEvaluatedKey || Object.keys(page.LastEvaluatedKey).length === 0;
    return [EventItems.fromQuery(orderId, items, fromStart), cost];
  }

  /** Every stored event from `from` to `to` (to the end when absent), every page. */
  async range(orderId: string, from: number, to: number | undefined): Promise<[EventItems, ReadCost]> {
    const cost = noCost();
    const items: Item[] = [];
    let start: QueryCommandInput["ExclusiveStartKey"];
    do {
      const page = await this.client.send(
        new QueryCommand({ ...this.keys(orderId, from, to), ConsistentRead: true, ExclusiveStartKey: start }),
      );
      addPage(cost, page.Items ?? [], true);
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey && Object.keys(page.LastEvaluatedKey).length > 0 ? page.LastEvaluatedKey : undefined;
    } while (start);
    return [EventItems.fromQuery(orderId, items, from <= 1), cost];
  }

  private keys(orderId: string, from: number | undefined, to: number | undefined): QueryCommandInput {
    const values: NonNullable<QueryCommandInput["ExpressionAttributeValues"]> = { ":id": { S: orderId } };
    let condition = "orderId = :id";
    if (from !== undefined && to !== undefined) {
      condition += " AND #seq BETWEEN :from AND :to";
      Object.assign(values, { ":from": { N: String(from) }, ":to": { N: String(to) } });
    } else if (from !== undefined) {
      condition += " AND #seq >= :from";
      values[":from"] = { N: String(from) };
    } else if (to !== undefined) {
      condition += " AND #seq <= :to";
      values[":to"] = { N: String(to) };
    }
    return {
      TableName: this.table,
      KeyConditionExpression: condition,
      ExpressionAttributeValues: values,
      ...(condition.includes("#seq") ? { ExpressionAttributeNames: { "#seq": "sequence" } } : {}),
    };
  }
}
