/**
 * Wrong passwords are limited across processes (login-limits.ts): two processes of step 05
 * share one Redis, and the tries an attacker spreads over both are counted together. Behind a
 * proxy the step trusts (TRUST_PROXY), X-Forwarded-For says which address a request comes from.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import {
  Browser,
  redisClientFor,
  startStep,
  usePrivatePostgres,
  usePrivateRedis,
} from "../../test/harness/index.ts";

const PASSWORD = "correct horse battery staple";
const PER_ACCOUNT = 5; // login-limits.ts: wrong passwords for one name from one address
const PER_ADDRESS = 30; // wrong passwords from one address, whatever the names

const [redis, postgres] = await Promise.all([usePrivateRedis(), usePrivatePostgres()]);
const env = { REDIS_URL: redis.url, DATABASE_URL: postgres.url, TRUST_PROXY: "loopback" };
const [one, two] = await Promise.all([
  startStep({ after }, "05-login-logout", { env }),
  startStep({ after }, "05-login-logout", { env }),
]);
const client = await redisClientFor({ after }, redis.url);

let accounts = 0;
async function registered(): Promise<string> {
  const username = `limited-${++accounts}`;
  const response = await new Browser(one.url).request("/register", {
    body: { username, password: PASSWORD },
  });
  assert.equal(response.status, 201);
  return username;
}

/** A login from ADDRESS to process ONE or TWO, turn by turn as a load balancer would. */
let turn = 0;
function login(address: string, username: string, password: string) {
  const server = turn++ % 2 === 0 ? one : two;
  return new Browser(server.url).request("/login", {
    body: { username, password },
    headers: { "X-Forwarded-For": address },
  });
}

test(`${PER_ACCOUNT} wrong passwords for one account, across two processes: the next try is a 429 with Retry-After`, async () => {
  const username = await registered();
  for (let i = 1; i <= PER_ACCOUNT; i++) {
    const wrong = await login("203.0.113.1", username, `wrong-${i}`);
    assert.equal(wrong.status, 401, `wrong password ${i} of ${PER_ACCOUNT}`);
  }
  const limited = await login("203.0.113.1", username, "wrong-again");
  assert.equal(limited.status, 429);
  const retryAfter = Number(limited.headers.get("retry-after"));
  assert.ok(retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After: ${retryAfter}`);
  assert.match(((await limited.json()) as { error: string }).error, /Too many wrong passwords/);
  // The right password from there is refused too: else the attacker's right guess gets in.
  assert.equal((await login("203.0.113.1", username, PASSWORD)).status, 429);
  // The owner, from another address, logs in: nobody can lock anybody out.
  assert.equal((await login("203.0.113.2", username, PASSWORD)).status, 200);
  // The count is one key in the shared Redis, with a TTL: it ends by itself.
  const key = `login-fails:account:${username}|203.0.113.1`;
  assert.ok(Number(await client.get(key)) > PER_ACCOUNT, "every try counts, the refused ones too");
  assert.ok((await client.ttl(key)) > 0, "the count expires");
});

test(`a burst of 20 wrong passwords sent at once gets ${PER_ACCOUNT} tries, as one at a time would`, async () => {
  // Each try is taken from the count before the password is checked, in one step in Redis:
  // a count read first and raised after a wrong password would let the whole burst through.
  const username = await registered();
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => login("203.0.113.9", username, `burst-${i}`)),
  );
  const statuses = answers.map((answer) => answer.status);
  const tried = statuses.filter((status) => status === 401).length;
  assert.equal(tried, PER_ACCOUNT, `passwords tried: ${tried} (${statuses.join(" ")})`);
  assert.equal(statuses.filter((status) => status === 429).length, 20 - PER_ACCOUNT);
});

test("a right password forgets the account's wrong ones", async () => {
  const username = await registered();
  for (let round = 0; round < 2; round++) {
    for (let i = 1; i < PER_ACCOUNT; i++) {
      assert.equal((await login("203.0.113.3", username, `wrong-${i}`)).status, 401);
    }
    assert.equal((await login("203.0.113.3", username, PASSWORD)).status, 200);
  }
});

test(`one address trying many accounts: after ${PER_ADDRESS} wrong passwords, a 429 there only`, async () => {
  const names = await Promise.all([registered(), registered(), registered()]);
  for (let i = 0; i < PER_ADDRESS; i++) {
    // Spread over the accounts and unknown names, so that no account's own limit is reached.
    const username = i % 2 ? (names[i % names.length] ?? "") : `nobody-${i}`;
    assert.equal((await login("203.0.113.4", username, `wrong-${i}`)).status, 401, `try ${i}`);
  }
  const limited = await login("203.0.113.4", "nobody-else", "wrong");
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get("retry-after")) > 0);
  assert.equal((await login("203.0.113.4", names[0] ?? "", PASSWORD)).status, 429);
  assert.equal((await login("203.0.113.5", names[0] ?? "", PASSWORD)).status, 200);
});
