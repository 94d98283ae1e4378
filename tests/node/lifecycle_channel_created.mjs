// `channelCreated` as the current web client receives it (socket.io-client 4, websocket transport,
// auth.token = "Bearer <jwt>", `subscribeAll` once): a member's socket on process B hears the channel
// the admin creates over REST on process A, with `{communityId, channel}`; a private channel created
// just before it is not announced to that member (ordered after it on the same queue, so no wait is
// needed to know it was never sent), nor is either announced to a user of another community.
// Prints one JSON line; exit 0 on success.
import { io } from "socket.io-client";

const { URL_A, URL_B, ADMIN_TOKEN, MEMBER_TOKEN, OUTSIDER_TOKEN, COMMUNITY_ID } = process.env;
const result = { heard: [], outsiderHeard: [] };
const timer = setTimeout(() => finish(false, "timed out"), 20000);
const sockets = [];

function finish(ok, error) {
  clearTimeout(timer);
  for (const s of sockets) s.close();
  console.log(JSON.stringify({ ok, error, ...result }));
  process.exit(ok ? 0 : 1);
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

function connect(url, token, heard) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ["websocket"],
      auth: (cb) => cb({ token: "Bearer " + token }),
      extraHeaders: { Origin: "http://localhost:5173" },
      reconnection: false,
    });
    sockets.push(socket);
    socket.on("channelCreated", (payload) => heard.push(payload));
    socket.on("exception", (e) => finish(false, `exception ${JSON.stringify(e)}`));
    socket.on("connect", () => {
      socket.emit("subscribeAll");
      resolve(socket);
    });
    socket.on("connect_error", (err) => reject(new Error(`connect_error ${err.message}`)));
  });
}

// Resolves once `list` holds a payload passing `test` (polled: the handler pushes into it).
function until(list, test) {
  return new Promise((resolve) => {
    const poll = () => {
      const found = list.find(test);
      if (found) resolve(found); else setTimeout(poll, 20);
    };
    poll();
  });
}

try {
  const member = await connect(URL_B, MEMBER_TOKEN, result.heard);
  await connect(URL_B, OUTSIDER_TOKEN, result.outsiderHeard);
  // subscribeAll has no ack: a channel announced until the member hears one proves its rooms are set
  let warm = 0;
  while (!result.heard.length) {
    await rest("POST", "/api/channels", ADMIN_TOKEN, { name: `warm-${warm++}`, communityId: COMMUNITY_ID, type: "TEXT" });
    await new Promise((r) => setTimeout(r, 100));
  }
  result.heard.length = 0;
  result.warmups = warm;
  result.secret = await rest("POST", "/api/channels", ADMIN_TOKEN,
    { name: "node-secret", communityId: COMMUNITY_ID, type: "TEXT", isPrivate: true });
  result.created = await rest("POST", "/api/channels", ADMIN_TOKEN,
    { name: "node-public", communityId: COMMUNITY_ID, type: "TEXT" });
  result.announced = await until(result.heard, (p) => p.channel.id === result.created.id);
  result.memberConnected = member.connected;
  finish(true);
} catch (err) {
  finish(false, String(err));
}
