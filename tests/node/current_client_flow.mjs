// The current Kraken web client's chat flow (socket.io-client 4, websocket transport,
// auth.token = "Bearer <jwt>"): each socket emits `subscribeAll` once on connect and never
// `joinAll`/`joinRoom`; everything after that is REST, and the server moves the sockets into and
// out of rooms. The creator (process A) creates a community and hears its own message; a second
// user (process B) joins by invite, hears `memberAddedToCommunity` and the next message; once
// removed, they hear nothing more. Then the creator opens a direct conversation with them (no community
// needed): the joiner's socket joins dm:<id> on creation and hears the direct message. Prints one JSON
// line; exit 0 on success.
import { io } from "socket.io-client";

const { URL_A, URL_B, CREATOR_TOKEN, JOINER_TOKEN, JOINER_ID, COMMUNITY_NAME } = process.env;
const result = { steps: [], outgoing: { creator: [], joiner: [] } };
const timer = setTimeout(() => finish(false, "timed out"), 20000);
const sockets = [];

function finish(ok, error) {
  clearTimeout(timer);
  for (const s of sockets) s.close();
  console.log(JSON.stringify({ ok, error, ...result }));
  process.exit(ok ? 0 : 1);
}

function step(name, extra = {}) {
  result.steps.push({ name, at: Date.now(), ...extra });
}

async function rest(method, path, token, body) {
  const response = await fetch(URL_A + path, {
    method,
    headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// Resolves with the socket once connected; records every event it emits.
function connect(url, token, who) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ["websocket"],
      auth: (cb) => cb({ token: "Bearer " + token }),
      extraHeaders: { Origin: "http://localhost:5173" },
      reconnection: false,
    });
    sockets.push(socket);
    socket.onAnyOutgoing((event) => result.outgoing[who].push(event));
    socket.on("exception", (e) => finish(false, `${who} got exception ${JSON.stringify(e)}`));
    socket.on("connect", () => {
      socket.emit("subscribeAll"); // no payload, no ack: what the client does on every connect
      resolve(socket);
    });
    socket.on("connect_error", (err) => reject(new Error(`${who} connect_error ${err.message}`)));
  });
}

// The next event `name` whose payload passes `test`, or null after `ms`.
function next(socket, name, test, ms) {
  return new Promise((resolve) => {
    const handler = (payload) => {
      if (!test(payload)) return;
      clearTimeout(t);
      socket.off(name, handler);
      resolve(payload);
    };
    const t = setTimeout(() => { socket.off(name, handler); resolve(null); }, ms);
    socket.on(name, handler);
  });
}

function send(socket, channelId, text) {
  return new Promise((resolve) => {
    socket.emit("sendMessage", { channelId, spans: [{ type: "PLAINTEXT", text }], attachments: [] }, resolve);
  });
}

function refused(url) {
  return new Promise((resolve) => {
    const s = io(url, { transports: ["websocket"], auth: { token: "Bearer stale" }, reconnection: false });
    sockets.push(s);
    s.on("connect", () => resolve("connected"));
    s.on("connect_error", (err) => resolve(err.message));
  });
}

async function main() {
  result.onboarding = await rest("GET", "/api/onboarding/status", CREATOR_TOKEN);
  result.refusedWith = await refused(URL_B);

  const creator = await connect(URL_A, CREATOR_TOKEN, "creator");
  const joiner = await connect(URL_B, JOINER_TOKEN, "joiner");
  step("connected");

  // 1. create a community over REST, send, hear our own message
  const community = await rest("POST", "/api/community", CREATOR_TOKEN, { name: COMMUNITY_NAME });
  const channels = await rest("GET", `/api/channels/community/${community.id}`, CREATOR_TOKEN);
  const general = channels.find((c) => c.type === "TEXT");
  result.communityId = community.id;
  result.channelId = general.id;
  const ownEcho = next(creator, "newMessage", (p) => p.message.spans[0].text === "first", 3000);
  result.firstAck = await send(creator, general.id, "first");
  result.ownMessage = await ownEcho;
  step("own message", { heard: !!result.ownMessage });
  if (!result.ownMessage) return finish(false, "the creator did not hear its own message");

  // the first history page, as the client asks for it
  const page = await rest("GET", `/api/messages/channel/${general.id}?limit=25&continuationToken=`, CREATOR_TOKEN);
  result.firstPageIds = page.messages.map((m) => m.id);

  // 2. a second user joins by invite (on the other process): memberAddedToCommunity, then live messages
  const invite = await rest("POST", `/api/community/${community.id}/invites`, CREATOR_TOKEN, { maxUses: 1 });
  const added = next(joiner, "memberAddedToCommunity", (p) => p.communityId === community.id, 3000);
  await rest("POST", `/api/invite/${invite.code}/redeem`, JOINER_TOKEN);
  result.memberAdded = await added;
  step("member added", { heard: !!result.memberAdded });
  if (!result.memberAdded) return finish(false, "no memberAddedToCommunity");
  const live = next(joiner, "newMessage", (p) => p.message.spans[0].text === "second", 3000);
  result.secondAck = await send(creator, general.id, "second");
  result.joinerHeard = await live;
  step("joiner heard", { heard: !!result.joinerHeard });
  if (!result.joinerHeard) return finish(false, "the joiner did not hear the next message");

  // 2b. the creator (process A) replies in a thread on that message; the joiner (process B) hears the reply
  // and the parent's new count, as the client's thread panel and reply badge do
  const threadReply = next(joiner, "newThreadReply", (p) => p.parentMessageId === result.secondAck, 3000);
  const threadCount = next(joiner, "threadReplyCountUpdated", (p) => p.parentMessageId === result.secondAck, 3000);
  result.threadAck = await new Promise((resolve) => {
    creator.emit("sendThreadReply", { parentMessageId: result.secondAck, spans: [{ type: "PLAINTEXT", text: "in thread" }],
                                      attachments: [] }, resolve);
  });
  result.threadHeard = await threadReply;
  result.threadCount = await threadCount;
  step("thread reply", { heard: !!result.threadHeard });
  const replies = await rest("GET", `/api/threads/${result.secondAck}/replies?limit=50`, JOINER_TOKEN);
  result.threadPageIds = replies.replies.map((m) => m.id);
  result.threadMeta = await rest("GET", `/api/threads/${result.secondAck}/metadata`, CREATOR_TOKEN);

  // 3. removed: nothing more reaches them, while the creator still hears its messages
  await rest("DELETE", `/api/membership/community/${community.id}/user/${JOINER_ID}`, CREATOR_TOKEN);
  const removedAt = Date.now();
  step("removed");
  // watched a little past the 1 s the test asks for: a timer may fire a millisecond early by Date.now()
  const leaked = next(joiner, "newMessage", () => true, 1100);
  const echo = next(creator, "newMessage", (p) => p.message.spans[0].text === "third", 3000);
  result.thirdAck = await send(creator, general.id, "third");
  result.creatorHeardThird = !!(await echo);
  result.leakedToRemoved = await leaked;
  result.silentFor = Date.now() - removedAt;

  // 4. a direct message: the conversation is created over REST, the server moves both users' sockets
  // into dm:<id>, the creator sends with sendDirectMessage and the joiner (process B) hears it
  const dm = await rest("POST", "/api/direct-messages", CREATOR_TOKEN, { userIds: [JOINER_ID] });
  result.dmId = dm.id;
  const dmHeard = next(joiner, "newDirectMessage", (p) => p.message.directMessageGroupId === dm.id, 3000);
  result.dmAck = await new Promise((resolve) => {
    creator.emit("sendDirectMessage", { directMessageGroupId: dm.id, spans: [{ type: "PLAINTEXT", text: "psst" }],
                                        attachments: [] }, resolve);
  });
  result.dmHeard = await dmHeard;
  step("direct message", { heard: !!result.dmHeard });
  result.joinerConversations = (await rest("GET", "/api/direct-messages", JOINER_TOKEN)).map((g) => g.id);

  // 5. the joiner (process B) reads it, as the client does when messages are visible: markAsRead; the
  // creator (process A) hears who read in dm:<id>, the joiner's own socket hears its new watermark
  const seen = next(creator, "readReceiptUpdated", (p) => p.userId === JOINER_ID && p.directMessageGroupId === dm.id, 3000);
  const own = next(joiner, "readReceiptUpdated", (p) => !p.userId && p.directMessageGroupId === dm.id, 3000);
  joiner.emit("markAsRead", { lastReadMessageId: result.dmAck, directMessageGroupId: dm.id });
  result.readSeen = await seen;
  result.readOwn = await own;
  step("mark as read", { seen: !!result.readSeen });
  result.joinerUnread = (await rest("GET", "/api/read-receipts/unread-counts", JOINER_TOKEN))
    .find((c) => c.directMessageGroupId === dm.id);
  finish(true);
}

main().catch((err) => finish(false, String(err && err.stack || err)));
