// The Rust side of the tests across languages: `local-peer` (tools/local/src/bin/peer.rs) starts
// a DynamoDB-compatible server with an event table and a snapshot table, and answers requests
// (drain the stream through the stream function, load as the Rust code loads) one JSON line each.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/** The peer binary: LOCAL_PEER, else the workspace's debug build (`make test` builds it). */
export function peerBinary() {
  const binary = process.env.LOCAL_PEER ?? join(process.env.CARGO_TARGET_DIR ?? join(repo, "target"), "debug", "local-peer");
  if (!existsSync(binary)) throw new Error(`${binary} is missing: cargo build -p local --bin local-peer`);
  return binary;
}

export class Peer {
  /** Starts a peer on `engine` (`moto` or `dynalite`) and waits for its tables. */
  static async start(engine) {
    const child = spawn(peerBinary(), ["--engine", engine], { stdio: ["pipe", "pipe", "inherit"] });
    const peer = new Peer(child);
    peer.tables = await peer.next();
    return peer;
  }

  constructor(child) {
    this.child = child;
    this.answers = [];
    this.waiting = [];
    this.exited = new Promise((done) => child.once("exit", done));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(JSON.parse(line));
      else this.answers.push(JSON.parse(line));
    });
    child.once("exit", (code) => {
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(`local-peer exited (${code})`));
    });
  }

  next() {
    const answer = this.answers.shift();
    if (answer) return Promise.resolve(answer);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Sends one request and waits for its answer. */
  ask(request) {
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    return this.next();
  }

  /** A DynamoDB client for the peer's server (the dummy credentials local servers take). */
  client() {
    return new DynamoDBClient({
      endpoint: this.tables.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
  }

  /** Closes stdin (the peer stops its server and exits) and waits for it. */
  async stop() {
    this.child.stdin.end();
    await this.exited;
  }
}
