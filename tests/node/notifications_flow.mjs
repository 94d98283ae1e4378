// Notifications with the current client's transport (socket.io-client 4, websocket, auth.token): the
// recipient's socket on process B hears `newNotification` for a mention sent on process A, then
// `notificationRead` after it marks the notification read over REST. Prints one JSON line; exit 0 on success.
import { io } from "socket.io-client";

const { URL_A, URL_B, AUTHOR_TOKEN, RECIPIENT_TOKEN, RECIPIENT_ID, CHANNEL_ID } = process.env;
const result = {};
const sockets = [];
const timer = setTimeout(() => finish(false, "timed out"), 20000);

function finish(ok, error) {
  clearTimeout(timer);
  for (const s of sockets) s.close();
  console.log(JSON.stringify({ ok, error, ...result }));
  process.exit(ok ? 0 : 1);
}

function connect(url, token) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ["websocket"], auth: (cb) => cb({ token: "Bearer " + token }),
      extraHeaders: { Origin: "http://localhost:5173" }, reconnection: false });
    sockets.push(socket);
    socket.on("connect", () => { socket.emit("subscribeAll"); resolve(socket); });
    socket.on("connect_error", (err) => reject(new Error(`connect_error ${err.message}`)));
  });
}

function next(socket, name, test, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(() => { socket.off(name, on); resolve(null); }, ms);
    function on(payload) { if (test(payload)) { clearTimeout(t); socket.off(name, on); resolve(payload); } }
    socket.on(name, on);
  });
}

try {
  const author = await connect(URL_A, AUTHOR_TOKEN);
  const recipient = await connect(URL_B, RECIPIENT_TOKEN);
  await new Promise((r) => setTimeout(r, 300));
  const spans = [{ type: "USER_MENTION", userId: RECIPIENT_ID }, { type: "PLAINTEXT", text: " ping" }];
  const heard = next(recipient, "newNotification", () => true, 8000);
  result.ack = await author.timeout(8000).emitWithAck("sendMessage", { channelId: CHANNEL_ID, spans });
  result.notification = await heard;
  if (!result.notification) finish(false, "no newNotification");
  const read = next(recipient, "notificationRead", () => true, 8000);
  const response = await fetch(`${URL_A}/api/notifications/${result.notification.notificationId}/read`, {
    method: "POST", headers: { Authorization: "Bearer " + RECIPIENT_TOKEN } });
  result.readStatus = response.status;
  result.read = await read;
  const count = await fetch(`${URL_B}/api/notifications/unread-count`, {
    headers: { Authorization: "Bearer " + RECIPIENT_TOKEN } });
  result.unread = await count.json();
  finish(true);
} catch (err) {
  finish(false, String(err));
}
