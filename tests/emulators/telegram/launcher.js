#!/usr/bin/env node
/*
 * Local Telegram Bot API emulator for Relevo's tests.
 *
 * Wraps telegram-test-api 4.2.1 (its storage, ids, customer-side JSON API and HTTP server) with
 * an outer Express app that fixes what python-telegram-bot 22 needs:
 *   - getMe answers `is_bot: true` (and a bot id taken from a numeric token prefix, if any);
 *   - sendMessage answers a real Message (`date` in seconds, `from` = the bot, a proper `chat`);
 *   - callback queries carry `chat_instance` and a complete `message`;
 *   - getUpdates honours `offset` (confirm by offset, like Telegram), `limit` and `timeout`
 *     (a true long poll that ends early when the poller disconnects, so a stopped bot's pending
 *     request never swallows an update; unconfirmed updates are delivered again);
 *   - webhooks: POST with `X-Telegram-Bot-Api-Secret-Token`, one at a time per bot and in order;
 *     a non-2xx answer, a timeout or a refused connection is logged and recorded for
 *     getWebhookInfo, and the process keeps going;
 *   - edit* answer the edited Message, setWebhook/deleteWebhook/answerCallbackQuery/
 *     deleteMessage/sendChatAction/setMyCommands/deleteMyCommands answer `true`;
 *   - getWebhookInfo and getMyCommands exist; other methods answer a Telegram-shaped 404.
 *
 * Usage: node launcher.js [--host 127.0.0.1] [--port 0] [--store-timeout 600] [--watch-stdin]
 * (or TELEGRAM_EMULATOR_HOST / _PORT / _STORE_TIMEOUT / _WATCH_STDIN=1). Port 0 picks a free
 * port. Prints `READY <port>` on stdout once listening; logs go to stderr
 * (TELEGRAM_EMULATOR_DEBUG=1 logs every request). SIGTERM/SIGINT stop it cleanly; with
 * --watch-stdin it also stops when its stdin closes (so it dies with the process that started it).
 * TELEGRAM_EMULATOR_WEBHOOK_TIMEOUT (seconds, default 10) and TELEGRAM_EMULATOR_WEBHOOK_RETRIES
 * (default 0) tune webhook delivery; an update whose delivery failed is dropped.
 */

'use strict';

const path = require('path');
const TelegramServer = require('telegram-test-api');

// express is a dependency of telegram-test-api: resolve it from there, not from a hoisted copy.
const express = require(require.resolve('express', {
  paths: [path.dirname(require.resolve('telegram-test-api'))],
}));

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    if (eq !== -1) {
      out[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      out[arg.slice(2)] = argv[++i];
    } else {
      out[arg.slice(2)] = 'true';
    }
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const env = process.env;
const HOST = args.host || env.TELEGRAM_EMULATOR_HOST || '127.0.0.1';
const PORT = Number(args.port ?? env.TELEGRAM_EMULATOR_PORT ?? 0);
const STORE_TIMEOUT = Number(args['store-timeout'] ?? env.TELEGRAM_EMULATOR_STORE_TIMEOUT ?? 600);
const WATCH_STDIN = (args['watch-stdin'] ?? env.TELEGRAM_EMULATOR_WATCH_STDIN) === 'true'
  || env.TELEGRAM_EMULATOR_WATCH_STDIN === '1';
const DEBUG = env.TELEGRAM_EMULATOR_DEBUG === '1';
const WEBHOOK_TIMEOUT_MS = Number(env.TELEGRAM_EMULATOR_WEBHOOK_TIMEOUT ?? 10) * 1000;
const WEBHOOK_RETRIES = Number(env.TELEGRAM_EMULATOR_WEBHOOK_RETRIES ?? 0);
const MAX_POLL_TIMEOUT_S = 50;

if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  process.stderr.write(`[telegram-emulator] invalid port: ${PORT}\n`);
  process.exit(2);
}

function log(message) {
  process.stderr.write(`[telegram-emulator] ${new Date().toISOString()} ${message}\n`);
}

// An unexpected rejection must never take the emulator down (telegram-test-api's own webhook
// code did exactly that on a 403).
process.on('unhandledRejection', (reason) => {
  log(`unhandled rejection (ignored): ${reason && reason.stack ? reason.stack : reason}`);
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const server = new TelegramServer({ host: HOST, port: PORT || 9000, storeTimeout: STORE_TIMEOUT });
server.config.port = PORT; // the package turns 0 into 9000; 0 means "any free port" here

const nowSeconds = () => Math.floor(Date.now() / 1000);
const toSeconds = (value) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return nowSeconds();
  return n > 1e11 ? Math.floor(n / 1000) : Math.floor(n); // milliseconds -> seconds
};

const JSON_FIELDS = [
  'reply_markup', 'entities', 'caption_entities', 'reply_parameters', 'link_preview_options',
  'allowed_updates', 'commands', 'scope',
];

/** Bot API parameters from the query string and the (JSON or form) body; JSON fields decoded. */
function botParams(req) {
  const params = { ...(req.query || {}), ...(req.body || {}) };
  for (const key of JSON_FIELDS) {
    if (typeof params[key] === 'string') {
      try {
        params[key] = JSON.parse(params[key]);
      } catch (_e) {
        // leave it as sent
      }
    }
  }
  return params;
}

const asBool = (value) => value === true || value === 'true' || value === '1' || value === 1;
const asInt = (value, fallback) => {
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : fallback;
};

function ok(res, result) {
  res.json({ ok: true, result });
}

function fail(res, code, description) {
  res.status(code).json({ ok: false, error_code: code, description });
}

function botUser(token) {
  const m = /^(\d+):/.exec(token);
  return {
    id: m ? Number(m[1]) : 666,
    is_bot: true,
    first_name: 'Test First name',
    username: 'TestNameBot',
  };
}

// The last chat object a customer used, per bot and chat id, so that bot messages carry it.
const chats = new Map();
const chatKey = (token, chatId) => `${token}\u0000${String(chatId)}`;

function chatFor(token, chatId) {
  const known = chats.get(chatKey(token, chatId));
  if (known) return { ...known };
  const id = Number(chatId);
  let type = 'private';
  if (id < 0) type = String(chatId).startsWith('-100') ? 'supergroup' : 'group';
  return { id, type };
}

const sameChat = (a, b) => String(a) === String(b);

function findBotRecord(token, chatId, messageId) {
  return server.storage.botMessages.find((u) => u.botToken === token
    && sameChat(u.message.chat_id, chatId) && String(u.messageId) === String(messageId));
}

function findUserRecord(token, chatId, messageId) {
  return server.storage.userMessages.find((u) => u.botToken === token && u.message
    && u.message.chat && sameChat(u.message.chat.id, chatId)
    && String(u.messageId) === String(messageId));
}

/** A bot message record of the package's storage as a Bot API Message. */
function botMessageAsMessage(token, record, { withReply = true } = {}) {
  const body = record.message;
  const message = {
    message_id: record.messageId,
    from: botUser(token),
    chat: chatFor(token, body.chat_id),
    date: toSeconds(record.time),
  };
  if (record.editDate) message.edit_date = record.editDate;
  if (body.text !== undefined) message.text = String(body.text);
  if (Array.isArray(body.entities)) message.entities = body.entities;
  if (body.reply_markup && typeof body.reply_markup === 'object'
      && 'inline_keyboard' in body.reply_markup) {
    message.reply_markup = { inline_keyboard: body.reply_markup.inline_keyboard };
  }
  if (body.link_preview_options && typeof body.link_preview_options === 'object') {
    message.link_preview_options = body.link_preview_options;
  }
  if (body.message_thread_id !== undefined) {
    message.message_thread_id = asInt(body.message_thread_id, undefined);
  }
  const replyTo = body.reply_parameters && body.reply_parameters.message_id;
  if (withReply && replyTo !== undefined) {
    message.reply_to_message = repliedMessage(token, body.chat_id, replyTo);
  }
  return message;
}

/** The message a reply points at, from storage if known, else a minimal valid Message. */
function repliedMessage(token, chatId, messageId) {
  const user = findUserRecord(token, chatId, messageId);
  if (user) {
    const message = { ...user.message, message_id: user.messageId };
    delete message.botToken;
    delete message.reply_to_message;
    return message;
  }
  const bot = findBotRecord(token, chatId, messageId);
  if (bot) return botMessageAsMessage(token, bot, { withReply: false });
  return { message_id: Number(messageId), date: nowSeconds(), chat: chatFor(token, chatId) };
}

function completeUser(from, fallbackId) {
  const user = { ...(from || {}) };
  if (user.id === undefined) user.id = fallbackId;
  user.id = Number(user.id);
  if (user.is_bot === undefined) user.is_bot = false;
  if (!user.first_name) user.first_name = 'Test';
  return user;
}

/** A customer message as sent to the emulator, completed into a valid Bot API Message. */
function completeUserMessage(token, raw) {
  const message = { ...raw };
  delete message.botToken;
  if (!message.chat && message.chat_id !== undefined) {
    message.chat = { id: Number(message.chat_id), type: 'private' };
    delete message.chat_id;
  }
  if (!message.chat || message.chat.id === undefined) {
    throw Object.assign(new Error('Bad Request: the message needs `chat.id`'), { http: 400 });
  }
  message.chat = { ...message.chat, id: Number(message.chat.id) };
  if (!message.chat.type) message.chat.type = message.chat.id < 0 ? 'group' : 'private';
  message.from = completeUser(message.from, message.chat.type === 'private' ? message.chat.id : 1);
  message.date = toSeconds(message.date);
  const reply = message.reply_to_message;
  if (reply && reply.message_id !== undefined && (reply.date === undefined || !reply.chat)) {
    message.reply_to_message = { ...repliedMessage(token, message.chat.id, reply.message_id),
      ...reply };
    message.reply_to_message.date = toSeconds(message.reply_to_message.date);
    if (!message.reply_to_message.chat) message.reply_to_message.chat = message.chat;
  }
  chats.set(chatKey(token, message.chat.id), message.chat);
  return message;
}

/** A customer button press, completed into a valid Bot API CallbackQuery (minus its id). */
function completeCallbackQuery(token, raw) {
  const query = { ...raw };
  delete query.botToken;
  let message = query.message ? { ...query.message } : undefined;
  if (message) {
    const chatId = message.chat ? message.chat.id : message.chat_id;
    const record = message.message_id !== undefined && chatId !== undefined
      ? findBotRecord(token, chatId, message.message_id) : undefined;
    if (record) {
      // The bot's own message, as stored, wins over what the customer side sent.
      message = { ...message, ...botMessageAsMessage(token, record) };
    } else {
      if (!message.chat && chatId !== undefined) message.chat = chatFor(token, chatId);
      if (message.message_id === undefined) message.message_id = server.messageId;
      message.message_id = Number(message.message_id);
      message.date = toSeconds(message.date);
    }
    delete message.botToken;
    delete message.chat_id;
    if (message.chat) {
      message.chat = { ...message.chat, id: Number(message.chat.id) };
      if (!message.chat.type) message.chat.type = message.chat.id < 0 ? 'group' : 'private';
    }
  }
  const chatId = message && message.chat ? message.chat.id : 1;
  query.from = completeUser(query.from, chatId > 0 ? chatId : 1);
  if (message) query.message = message;
  if (!query.chat_instance) query.chat_instance = String(chatId);
  if (!message && !query.inline_message_id) query.inline_message_id = '1';
  return query;
}

/** A stored customer update as a Bot API Update (replaces the package's formatUpdate). */
function formatUpdate(update) {
  if ('callbackQuery' in update) {
    const cq = update.callbackQuery;
    const out = {
      id: String(update.callbackId),
      from: cq.from,
      chat_instance: cq.chat_instance || '1',
    };
    for (const key of ['message', 'inline_message_id', 'data', 'game_short_name']) {
      if (cq[key] !== undefined) out[key] = cq[key];
    }
    return { update_id: update.updateId, callback_query: out };
  }
  const message = { ...update.message, message_id: update.messageId };
  delete message.botToken;
  if (typeof message.date !== 'number' || message.date > 1e11) message.date = toSeconds(message.date);
  return { update_id: update.updateId, message };
}
TelegramServer.formatUpdate = formatUpdate;

// ---------------------------------------------------------------------------------------------
// Update queue: long polling and webhooks
// ---------------------------------------------------------------------------------------------

const pollers = new Map(); // token -> waiting getUpdates request
const webhooks = new Map(); // token -> webhook state
const webhookErrors = new Map(); // token -> {date, message}, kept across setWebhook calls

const CONFLICT_WEBHOOK = "Conflict: can't use getUpdates method while webhook is active; "
  + 'use deleteWebhook to delete the webhook first';
const CONFLICT_POLLER = 'Conflict: terminated by other getUpdates request; '
  + 'make sure that only one bot instance is running';

/** Unconfirmed updates of a bot (isRead is "confirmed" here), oldest first. */
function pending(token, offset = 0) {
  return server.storage.userMessages
    .filter((u) => u.botToken === token && !u.isRead && u.updateId >= offset)
    .sort((a, b) => a.updateId - b.updateId);
}

/** Confirm (forget) the updates below `offset`, as Telegram does. */
function confirmBelow(token, offset) {
  for (const u of server.storage.userMessages) {
    if (u.botToken === token && u.updateId < offset) u.isRead = true;
  }
}

function dropPending(token) {
  for (const u of server.storage.userMessages) {
    if (u.botToken === token) u.isRead = true;
  }
}

function endPoll(waiter, send) {
  if (waiter.done) return;
  waiter.done = true;
  clearTimeout(waiter.timer);
  if (pollers.get(waiter.token) === waiter) pollers.delete(waiter.token);
  if (waiter.res.destroyed || waiter.res.writableEnded) return; // poller is gone: send nothing
  send(waiter.res);
}

function answerPoll(waiter) {
  endPoll(waiter, (res) => {
    ok(res, pending(waiter.token, waiter.offset).slice(0, waiter.limit).map(formatUpdate));
  });
}

/** Store a customer update; wake the bot's long poll or queue a webhook delivery. */
function addUserUpdate(update) {
  if (!update.botToken) {
    throw Object.assign(new Error('Bad Request: the update needs `botToken`'), { http: 400 });
  }
  server.storage.userMessages.push(update);
  server.updateId++;
  const hook = webhooks.get(update.botToken);
  if (hook) {
    hook.queue.push(update);
    pumpWebhook(update.botToken, hook);
  } else {
    const waiter = pollers.get(update.botToken);
    if (waiter) answerPoll(waiter);
  }
}
server.addUserUpdate = async function patchedAddUserUpdate(update) {
  addUserUpdate(update);
};

async function deliver(token, hook, update) {
  const headers = { 'Content-Type': 'application/json' };
  if (hook.secret_token) headers['X-Telegram-Bot-Api-Secret-Token'] = hook.secret_token;
  const body = JSON.stringify(formatUpdate(update));
  let error = '';
  for (let attempt = 0; attempt <= WEBHOOK_RETRIES; attempt++) {
    try {
      const response = await fetch(hook.url, {
        method: 'POST', headers, body, signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return true;
      error = `Wrong response from the webhook: ${response.status} ${response.statusText}`;
    } catch (e) {
      const cause = e && e.cause ? e.cause : e;
      if (cause && cause.code === 'ECONNREFUSED') error = 'Connection refused';
      else if (e && (e.name === 'TimeoutError' || e.name === 'AbortError')) error = 'Read timeout expired';
      else error = `Webhook request failed: ${cause && cause.message ? cause.message : e}`;
    }
    if (attempt < WEBHOOK_RETRIES) await new Promise((r) => { setTimeout(r, 500); });
  }
  webhookErrors.set(token, { date: nowSeconds(), message: error });
  log(`webhook delivery of update ${update.updateId} to ${hook.url} failed (dropped): ${error}`);
  return false;
}

/** Deliver a bot's queued updates one at a time, in order, while its webhook stays set. */
async function pumpWebhook(token, hook) {
  if (hook.busy) return;
  hook.busy = true;
  try {
    while (webhooks.get(token) === hook && hook.queue.length) {
      const update = hook.queue.shift();
      if (update.isRead) continue;
      await deliver(token, hook, update);
      update.isRead = true; // delivered, or given up on
    }
  } catch (e) {
    log(`webhook pump error (ignored): ${e && e.stack ? e.stack : e}`);
  } finally {
    hook.busy = false;
  }
}

// ---------------------------------------------------------------------------------------------
// The outer app: Bot API methods, customer API, then the package's own app
// ---------------------------------------------------------------------------------------------

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '20mb' }));
app.use(express.urlencoded({ extended: true, limit: '20mb' }));
if (DEBUG) {
  app.use((req, _res, next) => {
    log(`${req.method} ${req.originalUrl} ${JSON.stringify(req.body || {})}`);
    next();
  });
}

const bot = (method, handler) => {
  app.all(`/bot:token/${method}`, (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      fail(res, 405, `Method Not Allowed: HTTP ${req.method} is not supported`);
      return;
    }
    try {
      handler(req.params.token, botParams(req), req, res);
    } catch (e) {
      next(e);
    }
  });
};

bot('getMe', (token, _p, _req, res) => {
  ok(res, {
    ...botUser(token),
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
  });
});

bot('getUpdates', (token, p, req, res) => {
  if (webhooks.has(token)) {
    fail(res, 409, CONFLICT_WEBHOOK);
    return;
  }
  let offset = asInt(p.offset, 0);
  const limit = Math.min(Math.max(asInt(p.limit, 100), 1), 100);
  const timeout = Math.min(Math.max(asInt(p.timeout, 0), 0), MAX_POLL_TIMEOUT_S);
  if (offset < 0) {
    const all = pending(token);
    const keep = all.slice(offset); // the last -offset updates
    offset = keep.length ? keep[0].updateId : (all.length ? all[all.length - 1].updateId + 1 : 0);
  }
  confirmBelow(token, offset);

  const previous = pollers.get(token);
  if (previous) endPoll(previous, (r) => fail(r, 409, CONFLICT_POLLER));

  const ready = pending(token, offset);
  if (ready.length || timeout === 0) {
    ok(res, ready.slice(0, limit).map(formatUpdate));
    return;
  }
  const waiter = { token, offset, limit, res, done: false, timer: null };
  waiter.timer = setTimeout(() => answerPoll(waiter), timeout * 1000);
  res.on('close', () => {
    if (!waiter.done && DEBUG) log(`getUpdates poller for ${token} disconnected`);
    endPoll(waiter, () => undefined);
  });
  pollers.set(token, waiter);
});

bot('sendMessage', (token, p, _req, res) => {
  if (p.chat_id === undefined || p.chat_id === '') {
    fail(res, 400, 'Bad Request: chat_id is empty');
    return;
  }
  if (!Number.isFinite(Number(p.chat_id))) {
    fail(res, 400, 'Bad Request: chat not found');
    return;
  }
  if (p.text === undefined || String(p.text).length === 0) {
    fail(res, 400, 'Bad Request: message text is empty');
    return;
  }
  if ([...String(p.text)].length > 4096) { // code points; lenient where Telegram is vague
    fail(res, 400, 'Bad Request: message is too long');
    return;
  }
  if (p.reply_to_message_id !== undefined && !p.reply_parameters) {
    p.reply_parameters = { message_id: asInt(p.reply_to_message_id, 0) };
  }
  const messageId = server.messageId;
  server.addBotMessage(p, token);
  const record = findBotRecord(token, p.chat_id, messageId);
  ok(res, botMessageAsMessage(token, record));
});

function editRecord(token, p, res, apply) {
  if (p.inline_message_id !== undefined) {
    ok(res, true);
    return;
  }
  const record = findBotRecord(token, p.chat_id, p.message_id);
  if (!record) {
    fail(res, 400, 'Bad Request: message to edit not found');
    return;
  }
  apply(record);
  record.editDate = nowSeconds();
  ok(res, botMessageAsMessage(token, record));
}

bot('editMessageText', (token, p, _req, res) => {
  if (p.text === undefined || String(p.text).length === 0) {
    fail(res, 400, 'Bad Request: message text is empty');
    return;
  }
  editRecord(token, p, res, (record) => {
    const { chat_id: _c, message_id: _m, ...changes } = p;
    record.message = { ...record.message, ...changes };
    if (!('reply_markup' in p)) delete record.message.reply_markup;
    if (!('entities' in p)) delete record.message.entities;
    server.emit('EditedMessageText');
  });
});

bot('editMessageReplyMarkup', (token, p, _req, res) => {
  editRecord(token, p, res, (record) => {
    record.message = { ...record.message };
    if (p.reply_markup) record.message.reply_markup = p.reply_markup;
    else delete record.message.reply_markup;
    server.emit('EditedMessageReplyMarkup');
  });
});

bot('deleteMessage', (_token, p, _req, res) => {
  const chatId = Number(p.chat_id);
  const messageId = Number(p.message_id);
  if (!Number.isFinite(chatId) || !Number.isFinite(messageId)) {
    fail(res, 400, 'Bad Request: please specify `chat_id` and `message_id`');
  } else if (server.deleteMessage(chatId, messageId)) {
    ok(res, true);
  } else {
    fail(res, 400, 'Bad Request: message to delete not found');
  }
});

bot('answerCallbackQuery', (_token, p, _req, res) => {
  if (!p.callback_query_id) {
    fail(res, 400, 'Bad Request: query_id is empty');
    return;
  }
  ok(res, true);
});

bot('sendChatAction', (_token, p, _req, res) => {
  if (p.chat_id === undefined || p.chat_id === '') {
    fail(res, 400, 'Bad Request: chat_id is empty');
    return;
  }
  ok(res, true);
});

const commands = new Map(); // token -> BotCommand list
bot('setMyCommands', (token, p, _req, res) => {
  commands.set(token, Array.isArray(p.commands) ? p.commands : []);
  ok(res, true);
});
bot('deleteMyCommands', (token, _p, _req, res) => {
  commands.delete(token);
  ok(res, true);
});
bot('getMyCommands', (token, _p, _req, res) => {
  ok(res, commands.get(token) || []);
});

bot('setWebhook', (token, p, _req, res) => {
  const url = p.url === undefined ? '' : String(p.url);
  if (url === '') {
    webhooks.delete(token);
    if (asBool(p.drop_pending_updates)) dropPending(token);
    ok(res, true);
    return;
  }
  if (!/^https?:\/\//i.test(url)) {
    fail(res, 400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
    return;
  }
  const secret = p.secret_token === undefined ? '' : String(p.secret_token);
  if (secret && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
    fail(res, 400, 'Bad Request: secret token contains unallowed characters');
    return;
  }
  if (asBool(p.drop_pending_updates)) dropPending(token);
  const hook = {
    url,
    secret_token: secret,
    max_connections: asInt(p.max_connections, 40),
    allowed_updates: Array.isArray(p.allowed_updates) ? p.allowed_updates : undefined,
    queue: pending(token),
    busy: false,
  };
  webhooks.set(token, hook);
  server.webhooks[token] = { url }; // keep the package's view in step
  const waiter = pollers.get(token);
  if (waiter) endPoll(waiter, (r) => fail(r, 409, CONFLICT_WEBHOOK));
  pumpWebhook(token, hook);
  ok(res, true);
});

bot('deleteWebhook', (token, p, _req, res) => {
  webhooks.delete(token);
  delete server.webhooks[token];
  if (asBool(p.drop_pending_updates)) dropPending(token);
  ok(res, true);
});

bot('getWebhookInfo', (token, _p, _req, res) => {
  const hook = webhooks.get(token);
  const info = {
    url: hook ? hook.url : '',
    has_custom_certificate: false,
    pending_update_count: pending(token).length,
  };
  const error = webhookErrors.get(token);
  if (error) {
    info.last_error_date = error.date;
    info.last_error_message = error.message;
  }
  if (hook) {
    info.max_connections = hook.max_connections;
    if (hook.allowed_updates) info.allowed_updates = hook.allowed_updates;
  }
  ok(res, info);
});

bot(':method', (_token, _p, req, res) => {
  fail(res, 404, `Not Found: method ${req.params.method} is not supported by the emulator`);
});

app.all('/file/bot:token/*', (_req, res) => {
  fail(res, 404, 'Not Found: files are not supported by the emulator');
});

// Customer side (the package's JSON API), returning the update the bot will receive.
function customer(route, build) {
  app.post(route, (req, res, next) => {
    try {
      const token = req.body && req.body.botToken;
      if (!token) {
        fail(res, 400, 'Bad Request: `botToken` is required');
        return;
      }
      const update = build(token, req.body);
      addUserUpdate(update);
      ok(res, formatUpdate(update));
    } catch (e) {
      next(e);
    }
  });
}

customer('/sendMessage', (token, body) => {
  const message = completeUserMessage(token, body);
  const update = { ...server.getCommonFields(token), message };
  server.messageId++;
  process.nextTick(() => server.emit('AddedUserMessage'));
  return update;
});

customer('/sendCommand', (token, body) => {
  const raw = { ...body };
  if (!Array.isArray(raw.entities) || raw.entities.length === 0) {
    const text = String(raw.text || '');
    const length = text.includes(' ') ? text.indexOf(' ') : text.length;
    raw.entities = [{ offset: 0, length, type: 'bot_command' }];
  }
  const message = completeUserMessage(token, raw);
  const update = { ...server.getCommonFields(token), message, entities: message.entities };
  server.messageId++;
  process.nextTick(() => server.emit('AddedUserCommand'));
  return update;
});

customer('/sendCallback', (token, body) => {
  const callbackQuery = completeCallbackQuery(token, body);
  const update = { ...server.getCommonFields(token), callbackQuery, callbackId: server.callbackId };
  server.callbackId++;
  process.nextTick(() => server.emit('AddedUserCallbackQuery'));
  return update;
});

// Everything else (customer /getUpdates, /getUpdatesHistory) is the package's own app.
const inner = server.webServer;
app.use(inner);

// Errors raised in the handlers above: Telegram-shaped answers, never a crash.
// eslint-disable-next-line no-unused-vars
app.use((error, _req, res, _next) => {
  const code = (error && (error.http || error.status || error.statusCode)) || 500;
  if (code >= 500) log(`error: ${error && error.stack ? error.stack : error}`);
  if (res.headersSent) return;
  fail(res, code, error && error.message ? String(error.message) : 'Internal Server Error');
});

server.webServer = app; // start() serves this app

// ---------------------------------------------------------------------------------------------
// Start and stop
// ---------------------------------------------------------------------------------------------

let stopping = false;
async function shutdown(reason) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${reason})`);
  const force = setTimeout(() => process.exit(0), 3000);
  force.unref();
  for (const waiter of [...pollers.values()]) endPoll(waiter, (r) => ok(r, []));
  for (const token of [...webhooks.keys()]) webhooks.delete(token);
  try {
    await server.stop();
  } catch (e) {
    log(`stop error: ${e}`);
  }
  process.exit(0);
}

process.on('SIGTERM', () => { shutdown('SIGTERM'); });
process.on('SIGINT', () => { shutdown('SIGINT'); });
if (WATCH_STDIN) {
  process.stdin.on('end', () => { shutdown('stdin closed'); });
  process.stdin.on('error', () => { shutdown('stdin error'); });
  process.stdin.resume();
}

server.start().then(() => {
  const { port } = server.server.address();
  server.config.port = port;
  server.config.apiURL = `${server.config.protocol}://${HOST}:${port}`;
  process.stdout.write(`READY ${port}\n`);
}).catch((e) => {
  log(`failed to start on ${HOST}:${PORT}: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
