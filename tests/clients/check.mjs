// Orderly driven by real third-party clients, as a partner's app would use it:
// Apollo Client 4 with automatic persisted queries over HTTP and graphql-ws for
// subscriptions, and urql. Prints one line per check; exits non-zero on the first failure.
//   ORDERLY_URL (default http://127.0.0.1:8080); ORDERLY_TOKEN (a staff token), else the
//   demo sign-in of the embedded default is used.
import { createHash } from "node:crypto";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { Client as UrqlClient, cacheExchange, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket from "ws";

const base = process.env.ORDERLY_URL ?? "http://127.0.0.1:8080";
const endpoint = `${base}/graphql`;
const wsEndpoint = endpoint.replace(/^http/, "ws");

async function staffToken() {
  if (process.env.ORDERLY_TOKEN) return process.env.ORDERLY_TOKEN;
  const response = await fetch(`${base}/demo/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ role: "staff" }),
  });
  if (!response.ok) throw new Error(`no ORDERLY_TOKEN and no demo sign-in (HTTP ${response.status})`);
  return (await response.json()).token;
}

function ok(what, detail = "") {
  console.log(`ok   ${what}${detail ? ` — ${detail}` : ""}`);
}

function fail(what, detail) {
  console.log(`FAIL ${what} — ${detail}`);
  process.exitCode = 1;
}

function firstFrames(observable, count, ms = 5000) {
  return new Promise((resolve, reject) => {
    const frames = [];
    const timer = setTimeout(() => { sub.unsubscribe(); resolve(frames); }, ms);
    const sub = observable.subscribe({
      next: (value) => {
        frames.push(value);
        if (frames.length >= count) { clearTimeout(timer); sub.unsubscribe(); resolve(frames); }
      },
      error: (error) => { clearTimeout(timer); reject(error); },
    });
  });
}

const token = await staffToken();
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

// ---- Apollo Client 4: APQ over HTTP, graphql-ws for subscriptions -----------------------
const requests = [];
const recordingFetch = async (url, init) => {
  const body = init?.body ? JSON.parse(init.body) : null;
  requests.push({ method: init?.method ?? "GET", hasQuery: Boolean(body?.query ?? new URL(url).searchParams.get("query")), hash: body?.extensions?.persistedQuery?.sha256Hash ?? new URL(url).searchParams.get("extensions") });
  return fetch(url, init);
};
const http = new HttpLink({ uri: endpoint, headers: { authorization: `Bearer ${token}` }, fetch: recordingFetch });
const apq = new PersistedQueryLink({ sha256 });
const wsClient = createWsClient({ url: wsEndpoint, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });
const ws = new GraphQLWsLink(wsClient);
const link = ApolloLink.split(
  ({ query }) => {
    const definition = getMainDefinition(query);
    return definition.kind === "OperationDefinition" && definition.operation === "subscription";
  },
  ws,
  apq.concat(http),
);
const apollo = new ApolloClient({ link, cache: new InMemoryCache() });

const ORDERS = gql`
  query ClientCheckOrders($first: Int!) {
    orders(first: $first) { nodes { id number status placedAt total { amount currencyCode } customer { name } } }
  }
`;
try {
  const first = await apollo.query({ query: ORDERS, variables: { first: 3 }, fetchPolicy: "network-only" });
  const again = await apollo.query({ query: ORDERS, variables: { first: 3 }, fetchPolicy: "network-only" });
  const numbers = first.data.orders.nodes.map((o) => o.number).join(" ");
  const same = JSON.stringify(first.data) === JSON.stringify(again.data);
  // First run: hash only (PersistedQueryNotFound), then hash + query; second run: hash only.
  const shape = requests.map((r) => (r.hasQuery ? "hash+query" : "hash")).join(", ");
  if (!same || requests.length !== 3 || requests[2].hasQuery) fail("Apollo Client APQ", `requests: ${shape}`);
  else ok("Apollo Client 4 query with automatic persisted queries", `${numbers}; requests: ${shape}`);
} catch (error) {
  fail("Apollo Client APQ", error.message);
}

try {
  const data = await apollo.query({ query: gql`{ orderByNumber(number: "#1058") { id } }`, fetchPolicy: "network-only" });
  const orderId = data.data.orderByNumber.id;
  const frames = await firstFrames(
    apollo.subscribe({
      query: gql`subscription ClientCheckEvents($id: ID!) { orderUpdated(orderId: $id, afterSequence: 0) { sequence type } }`,
      variables: { id: orderId },
    }),
    3,
  );
  const sequences = frames.map((f) => f.data.orderUpdated.sequence);
  if (sequences.join() !== "1,2,3") fail("Apollo Client subscription over graphql-ws", `frames ${sequences}`);
  else ok("Apollo Client 4 subscription over graphql-ws (replay from 0)", `sequences ${sequences.join(", ")}: ${frames.map((f) => f.data.orderUpdated.type).join(", ")}`);
} catch (error) {
  fail("Apollo Client subscription", error.message);
}
await wsClient.dispose();

// ---- urql 5 ---------------------------------------------------------------------------
const urqlWs = createWsClient({ url: wsEndpoint, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });
const urql = new UrqlClient({
  url: endpoint,
  exchanges: [
    cacheExchange,
    fetchExchange,
    subscriptionExchange({
      forwardSubscription: (request) => ({
        subscribe: (sink) => ({ unsubscribe: urqlWs.subscribe({ ...request, query: request.query ?? "" }, sink) }),
      }),
    }),
  ],
  fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
  preferGetMethod: false,
});
try {
  const result = await urql.query(`query { skus(first: 2) { nodes { code available } } }`, {}).toPromise();
  if (result.error) fail("urql query", result.error.message);
  else ok("urql 5 query", result.data.skus.nodes.map((s) => `${s.code}=${s.available}`).join(" "));
  const frames = await new Promise((resolve) => {
    const seen = [];
    const { unsubscribe } = urql
      .subscription(`subscription { inventoryChanged(skuCodes: ["SOLAR-6KW"]) { code available } }`, {})
      .subscribe((frame) => { seen.push(frame); unsubscribe(); resolve(seen); });
    setTimeout(() => { unsubscribe(); resolve(seen); }, 5000);
  });
  if (!frames.length || frames[0].error) fail("urql subscription", frames[0]?.error?.message ?? "no frame in 5 s");
  else ok("urql 5 subscription over graphql-ws", `first frame ${JSON.stringify(frames[0].data.inventoryChanged)}`);
} catch (error) {
  fail("urql", error.message);
}
await urqlWs.dispose();
