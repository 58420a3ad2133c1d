/*
 * Relevo web chat client (Brisa Air demo brand).
 *
 * Plain ES2020, no build step, no dependencies. Talks JSON over one WebSocket to the gateway at
 * /channels/webchat/ws. Message text is only ever put in the page with textContent / text nodes;
 * nothing from the server goes through innerHTML.
 *
 * The only global is window.RelevoChat = {conversationId}, for tests.
 */
(() => {
  'use strict';

  const LIMIT = 2000;               // characters (code points) per message
  const COUNTER_FROM = LIMIT - 200; // the counter appears from here
  const PING_MS = 10000;            // a ping this often; the server answers with a pong
  const ANSWER_MS = 5000;           // nothing back this long after a ping or a message: a dead socket
  const TYPING_MAX_MS = 30000;
  const SLOW_MS = 10000; // a reply this late says so beside the dots
  const QUOTE_CHARS = 80;           // a reply to an earlier message quotes this much of it
  const BACK_TO_BOT = '/back_to_bot'; // the payload of "Back to the assistant" (relevo.messages)
  const WAIT_ENDS = new Set(['agent_joined', 'bot_back', 'closed']); // events that end a handoff's wait
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const STABLE_MS = 5000;           // an open socket this old resets the backoff
  const CONNECTING_BANNER_DELAY_MS = 1500;
  const WS_PATH = '/channels/webchat/ws';
  const CONVERSATION_KEY = 'relevo.conversation';
  const LANGUAGES = ['en', 'es'];
  // Who has the conversation after each event the page shows (others are not shown).
  const EVENT_OWNER = { queued: 'queued', agent_joined: 'agent', bot_back: 'bot', closed: 'closed' };

  const STRINGS = {
    en: {
      placeholder: 'Write a message…',
      inputLabel: 'Message',
      send: 'Send',
      subtitle: 'Customer care',
      introTitle: 'Hi! How can we help?',
      introText: 'Ask about bookings, baggage, check-in and more. A person can take over whenever you need one.',
      log: 'Conversation',
      statusBot: 'Assistant',
      statusQueued: 'Waiting for a person…',
      statusAgent: (name) => `${name} (agent)`,
      statusAgentAnon: 'Agent',
      statusClosed: 'Conversation closed',
      statusOffline: 'Offline',
      connecting: 'Connecting…',
      reconnecting: 'Reconnecting…',
      queued: 'Waiting for a person…',
      agentJoined: (name) => `${name} has joined the conversation`,
      agentJoinedAnon: 'A person has joined the conversation',
      botBack: "You're chatting with the assistant again",
      closed: 'Conversation closed',
      typing: 'Typing…',
      slow: 'Sorry, this is taking longer than usual…',
      sending: 'Sending…',
      sent: 'Sent',
      notSent: 'Not sent',
      retry: 'Retry',
      agent: 'Agent',
      you: 'You:',
      botSays: 'Assistant:',
      agentSays: (name) => `${name}:`,
      quickReplies: 'Quick replies',
      replyTo: 'In reply to:',
      newMessages: 'New messages',
      counter: (n) => `${n} / ${LIMIT}`,
      overLimit: (n) => `${n} / ${LIMIT} — too long`,
      error: (reason) => `Something went wrong: ${reason}`,
      reasons: {
        too_long: 'Message too long',
        empty: 'Empty message',
        rate_limited: 'Too many messages, please wait a moment',
        invalid: 'Invalid message',
        unavailable: 'The service is not available right now',
      },
    },
    es: {
      placeholder: 'Escribe un mensaje…',
      inputLabel: 'Mensaje',
      send: 'Enviar',
      subtitle: 'Atención al cliente',
      introTitle: '¡Hola! ¿En qué podemos ayudarte?',
      introText: 'Pregunta por reservas, equipaje, check-in y más. Una persona puede atenderte cuando lo necesites.',
      log: 'Conversación',
      statusBot: 'Asistente',
      statusQueued: 'Esperando a una persona…',
      statusAgent: (name) => `${name} (agente)`,
      statusAgentAnon: 'Agente',
      statusClosed: 'Conversación cerrada',
      statusOffline: 'Sin conexión',
      connecting: 'Conectando…',
      reconnecting: 'Reconectando…',
      queued: 'Esperando a una persona…',
      agentJoined: (name) => `${name} se ha unido a la conversación`,
      agentJoinedAnon: 'Una persona se ha unido a la conversación',
      botBack: 'Vuelves a hablar con el asistente',
      closed: 'Conversación cerrada',
      typing: 'Escribiendo…',
      slow: 'Perdona, está tardando más de lo normal…',
      sending: 'Enviando…',
      sent: 'Enviado',
      notSent: 'No enviado',
      retry: 'Reintentar',
      agent: 'Agente',
      you: 'Tú:',
      botSays: 'Asistente:',
      agentSays: (name) => `${name}:`,
      quickReplies: 'Respuestas rápidas',
      replyTo: 'En respuesta a:',
      newMessages: 'Mensajes nuevos',
      counter: (n) => `${n} / ${LIMIT}`,
      overLimit: (n) => `${n} / ${LIMIT} — demasiado largo`,
      error: (reason) => `Algo ha fallado: ${reason}`,
      reasons: {
        too_long: 'Mensaje demasiado largo',
        empty: 'Mensaje vacío',
        rate_limited: 'Demasiados mensajes, espera un momento',
        invalid: 'Mensaje no válido',
        unavailable: 'El servicio no está disponible ahora mismo',
      },
    },
  };

  const navLang = String(navigator.language || 'en').slice(0, 2).toLowerCase();
  const query = new URLSearchParams(location.search);
  const embedded = query.get('embed') === '1';

  // Before the first paint: the embed class drops the full-page chrome.
  if (embedded) document.documentElement.classList.add('rc-embed');

  /* ------------------------------------------------------------------ storage */

  /** Web Storage that never throws (private modes, blocked third-party storage): falls back to memory. */
  function safeStorage(name) {
    let area = null;
    try {
      area = window[name];
      area.setItem('relevo.__probe', '1');
      area.removeItem('relevo.__probe');
    } catch (_) {
      area = null;
    }
    const memory = new Map();
    return {
      get(key) {
        try {
          if (area) return area.getItem(key);
        } catch (_) { /* fall through */ }
        return memory.has(key) ? memory.get(key) : null;
      },
      set(key, value) {
        memory.set(key, value);
        try {
          if (area) area.setItem(key, value);
        } catch (_) { /* quota or blocked: memory keeps it */ }
      },
      remove(key) {
        memory.delete(key);
        try {
          if (area) area.removeItem(key);
        } catch (_) { /* ignore */ }
      },
    };
  }

  const local = safeStorage('localStorage');
  const session = safeStorage('sessionStorage');

  /* ------------------------------------------------------------------ ids */

  function randomHex(bytes) {
    const buf = new Uint8Array(bytes);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(buf);
    else for (let i = 0; i < bytes; i++) buf[i] = Math.floor(Math.random() * 256);
    return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /** A v4 UUID; randomUUID only exists in secure contexts, so build one from random bytes otherwise. */
  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === 'function') {
      try { return crypto.randomUUID(); } catch (_) { /* insecure context */ }
    }
    const h = randomHex(16).split('');
    h[12] = '4';
    h[16] = '89ab'[parseInt(h[16], 16) & 3];
    const s = h.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }

  function conversationId() {
    const stored = local.get(CONVERSATION_KEY);
    // The gateway accepts ^wc-[A-Za-z0-9-]{8,64}$; anything else (an old or tampered value) is replaced.
    if (stored && /^wc-[A-Za-z0-9-]{8,64}$/.test(stored)) return stored;
    let id;
    if (window.crypto && typeof crypto.randomUUID === 'function') {
      try { id = 'wc-' + crypto.randomUUID(); } catch (_) { id = null; }
    }
    if (!id) id = 'wc-' + randomHex(16);
    local.set(CONVERSATION_KEY, id);
    return id;
  }

  const convId = conversationId();
  const LAST_ID_KEY = `relevo.lastId.${convId}`;
  const OUTBOX_KEY = `relevo.outbox.${convId}`;
  const LANGUAGE_KEY = `relevo.language.${convId}`;

  window.RelevoChat = Object.freeze({ conversationId: convId });

  /* ------------------------------------------------------------------ language */

  // The page speaks the conversation's language once the server has said it (a `language`
  // frame; remembered for the next load), the browser's before.
  const known = (code) => (LANGUAGES.includes(code) ? code : null);
  let uiLang = known(local.get(LANGUAGE_KEY)) || known(navLang) || 'en';
  let T = STRINGS[uiLang];
  document.documentElement.lang = uiLang;

  /** Stream ids look like "1732590000000-0"; compare them numerically, anything else as text. */
  function compareIds(a, b) {
    const ma = /^(\d+)(?:-(\d+))?$/.exec(a);
    const mb = /^(\d+)(?:-(\d+))?$/.exec(b);
    if (ma && mb) {
      const da = Number(ma[1]) - Number(mb[1]);
      if (da !== 0) return da;
      return Number(ma[2] || 0) - Number(mb[2] || 0);
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /* ------------------------------------------------------------------ small DOM helpers */

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  const TRAILING_PUNCT = /[.,;:!?'"»”’…]$/;

  /** Trim what a sentence adds after a URL: punctuation and unbalanced closing brackets. */
  function trimUrl(url) {
    for (;;) {
      if (TRAILING_PUNCT.test(url)) { url = url.slice(0, -1); continue; }
      const last = url.slice(-1);
      const pairs = { ')': '(', ']': '[', '}': '{' };
      if (pairs[last]) {
        const opens = url.split(pairs[last]).length - 1;
        const closes = url.split(last).length - 1;
        if (closes > opens) { url = url.slice(0, -1); continue; }
      }
      return url;
    }
  }

  /** Put `text` into `node` as text nodes, with http(s) URLs as links. No HTML is ever parsed. */
  function appendRichText(node, text) {
    const re = /\bhttps?:\/\/[^\s<>"'`]+/gi;
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      const url = trimUrl(m[0]);
      if (!/^https?:\/\/[^/\s]/i.test(url)) continue;
      if (m.index > last) node.appendChild(document.createTextNode(text.slice(last, m.index)));
      const a = document.createElement('a');
      a.href = url;
      a.textContent = url;
      a.rel = 'noopener noreferrer';
      a.target = '_blank';
      node.appendChild(a);
      last = m.index + url.length;
      re.lastIndex = last;
    }
    if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
  }

  /** Time formats of a language, in the browser's own locale when it is of that language (en-GB: 24 h, en-US: 12 h). */
  function formatsFor(lang) {
    let locale = lang;
    const full = String(navigator.language || '');
    try {
      if (full.toLowerCase().startsWith(lang)) locale = Intl.DateTimeFormat.supportedLocalesOf([full])[0] || lang;
    } catch (_) { /* invalid tag */ }
    // "09:05" on a 24-hour clock, "9:05 AM" on a 12-hour one.
    const hour = /h2[34]/.test(new Intl.DateTimeFormat(locale, { hour: 'numeric' }).resolvedOptions().hourCycle || '')
      ? '2-digit' : 'numeric';
    return {
      time: new Intl.DateTimeFormat(locale, { hour, minute: '2-digit' }),
      dateTime: new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', hour, minute: '2-digit' }),
      full: new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short' }),
    };
  }

  let formats = formatsFor(uiLang);

  function parseTime(value) {
    if (!value) return new Date();
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? new Date() : d;
  }

  /** Word a <time> from its dateTime: the time today, the date and time otherwise. */
  function labelTime(t) {
    const date = new Date(t.dateTime);
    const sameDay = date.toDateString() === new Date().toDateString();
    t.textContent = (sameDay ? formats.time : formats.dateTime).format(date);
    t.title = formats.full.format(date);
  }

  function timeNode(date) {
    const t = el('time', 'rc-time');
    t.dateTime = date.toISOString();
    labelTime(t);
    return t;
  }

  const str = (v) => (typeof v === 'string' ? v : v == null ? '' : String(v));
  const countChars = (s) => Array.from(s).length;

  /* ------------------------------------------------------------------ state */

  let lastId = '0';                                   // last id rendered in this page
  const historyMark = session.get(LAST_ID_KEY) || ''; // last id seen before this page load
  const seen = new Set();                             // ids rendered (messages and events)
  const locals = new Map();                           // client_id -> row of a message typed here
  const payloadTitles = new Map();                    // quick-reply payload -> title
  const quoted = new Set();                           // customer message ids a reply answered
  let outbox = loadOutbox();
  let continueToken = (query.get('continue') || '').slice(0, 1024) || null;

  function loadOutbox() {
    try {
      const list = JSON.parse(session.get(OUTBOX_KEY) || '[]');
      return Array.isArray(list)
        ? list.filter((e) => e && typeof e.client_id === 'string' && typeof e.text === 'string')
        : [];
    } catch (_) {
      return [];
    }
  }

  function saveOutbox() {
    if (outbox.length) session.set(OUTBOX_KEY, JSON.stringify(outbox));
    else session.remove(OUTBOX_KEY);
  }

  function dropFromOutbox(clientId) {
    const before = outbox.length;
    outbox = outbox.filter((e) => e.client_id !== clientId);
    if (outbox.length !== before) saveOutbox();
  }

  function noteId(id) {
    if (!id) return;
    if (lastId === '0' || compareIds(id, lastId) > 0) {
      lastId = id;
      session.set(LAST_ID_KEY, id);
    }
  }

  /** A frame is "live" when it is newer than anything this tab had seen before the page loaded. */
  function isLive(id) {
    return !historyMark || !id || compareIds(id, historyMark) > 0;
  }

  /* ------------------------------------------------------------------ boot */

  function boot() {
    const $ = (id) => document.getElementById(id);
    const ui = {
      title: $('rc-title'),
      subtitle: $('rc-subtitle'),
      status: $('rc-status'),
      statusText: $('rc-status-text'),
      banner: $('rc-banner'),
      bannerText: $('rc-banner-text'),
      scroll: $('rc-scroll'),
      log: $('rc-log'),
      typing: $('rc-typing'),
      typingText: $('rc-typing-text'),
      typingSlow: $('rc-typing-slow'),
      jump: $('rc-jump'),
      jumpText: $('rc-jump-text'),
      form: $('rc-form'),
      input: $('rc-input'),
      inputLabel: $('rc-input-label'),
      counter: $('rc-counter'),
      send: $('rc-send'),
      introTitle: $('rc-intro-title'),
      introText: $('rc-intro-text'),
    };
    if (!ui.log || !ui.form) return;

    /* ---------- fixed strings */
    if (embedded) {
      const title = (query.get('title') || '').trim().slice(0, 60);
      if (title) ui.title.textContent = title;
      const color = (query.get('color') || '').trim();
      if (/^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(color)) applyAccent(color);
    }

    function applyStrings() {
      document.documentElement.lang = uiLang;
      ui.subtitle.textContent = T.subtitle;
      ui.typingText.textContent = T.typing;
      ui.jumpText.textContent = T.newMessages;
      ui.input.placeholder = T.placeholder;
      ui.inputLabel.textContent = T.inputLabel;
      ui.send.setAttribute('aria-label', T.send);
      ui.send.title = T.send;
      ui.log.setAttribute('aria-label', T.log);
      ui.introTitle.textContent = T.introTitle;
      ui.introText.textContent = T.introText;
      document.title = `${ui.title.textContent} · ${T.subtitle}`;
    }
    applyStrings();

    /* ---------- header status: who has the conversation, while the socket is up */
    let ownerStatus = { state: 'bot', agent: '' };
    let link = 'connecting'; // connecting, online or offline

    function ownerText({ state, agent }) {
      if (state === 'queued') return T.statusQueued;
      if (state === 'agent') return agent ? T.statusAgent(agent) : T.statusAgentAnon;
      if (state === 'closed') return T.statusClosed;
      return T.statusBot;
    }

    function renderStatus() {
      ui.status.dataset.state = link === 'online' ? ownerStatus.state : link;
      ui.statusText.textContent = link === 'online' ? ownerText(ownerStatus)
        : link === 'offline' ? T.statusOffline : T.connecting;
    }

    function setOwner(state, agent = '') {
      ownerStatus = { state, agent };
      renderStatus();
    }

    /* ---------- scrolling */
    function nearBottom() {
      const s = ui.scroll;
      return s.scrollHeight - s.scrollTop - s.clientHeight < 96;
    }

    function toBottom() {
      ui.scroll.scrollTop = ui.scroll.scrollHeight;
      ui.jump.hidden = true;
    }

    /** Run a DOM change, then keep the view pinned to the bottom if it was there (or forced). */
    function keepingBottom(change, { force = false, notify = false } = {}) {
      const stick = force || nearBottom();
      change();
      if (stick) toBottom();
      else if (notify) ui.jump.hidden = false;
    }

    ui.scroll.addEventListener('scroll', () => {
      if (!ui.jump.hidden && nearBottom()) ui.jump.hidden = true;
    }, { passive: true });
    ui.jump.addEventListener('click', () => {
      ui.scroll.scrollTo({ top: ui.scroll.scrollHeight, behavior: 'smooth' });
      ui.jump.hidden = true;
    });
    // Keep the bottom in view when the phone keyboard or the textarea changes the height.
    if (window.ResizeObserver) {
      let wasNear = true;
      ui.scroll.addEventListener('scroll', () => { wasNear = nearBottom(); }, { passive: true });
      new ResizeObserver(() => { if (wasNear) toBottom(); }).observe(ui.scroll);
    }

    /* ---------- log rows */

    /** Rows typed here and not yet in the server's order stay at the end of the log. */
    function firstLocalRow(except) {
      for (const row of ui.log.querySelectorAll('.rc-row--local')) {
        if (row !== except) return row;
      }
      return null;
    }

    function insertConfirmed(row) {
      ui.log.insertBefore(row, firstLocalRow(row));
    }

    /**
     * Failed messages restored after a reload wait at the end, below the history the server
     * resends; once something new happens they keep their place and newer rows go below them.
     */
    function releaseRestoredFailures() {
      for (const row of ui.log.querySelectorAll('.rc-row--local[data-state="failed"]')) {
        row.classList.remove('rc-row--local');
      }
    }

    function speakerLabel(author, agentName) {
      if (author === 'customer') return T.you;
      if (author === 'agent') return T.agentSays(agentName || T.agent);
      return T.botSays;
    }

    /** Word a row's own texts (speaker, agent role, quick replies' label) in the page's language. */
    function labelRow(row) {
      const agent = row.dataset.agent || '';
      row.querySelector('.rc-sr').textContent = speakerLabel(row.dataset.author, agent);
      const who = row.querySelector('.rc-name-who');
      if (who && !agent) who.textContent = T.agent;
      const role = row.querySelector('.rc-name-role');
      if (role) role.textContent = T.agent;
      const group = row.querySelector('.rc-quick');
      if (group) group.setAttribute('aria-label', T.quickReplies);
      if (row.dataset.state) labelState(row);
    }

    /** One message row: optional name label, the bubble (data-testid="msg"), meta line, quick replies. */
    function buildRow({
      author, text, display, id, clientId, time, agent, buttons, live, pause, messageId, quote,
    }) {
      const row = el('div', `rc-row rc-row--${author}`);
      row.dataset.author = author;
      if (agent) row.dataset.agent = agent;
      if (pause) row.dataset.pause = '1';
      if (live) row.classList.add('rc-in');
      if (author === 'customer') row.dataset.text = text;
      if (messageId) row.dataset.messageId = messageId;

      row.appendChild(el('span', 'rc-sr'));
      if (author === 'agent') {
        const name = el('div', 'rc-name');
        name.appendChild(el('span', 'rc-name-who', agent || null));
        if (agent) name.appendChild(el('span', 'rc-name-role'));
        row.appendChild(name);
      }

      const bubble = el('div', 'rc-bubble');
      bubble.dataset.testid = 'msg';
      bubble.dataset.author = author;
      bubble.dataset.id = id || '';
      if (clientId) bubble.dataset.clientId = clientId;
      if (quote) {
        const said = el('div', 'rc-quote');
        said.dataset.testid = 'quote';
        said.appendChild(el('span', 'rc-sr', T.replyTo));
        said.appendChild(el('span', null, quote));
        bubble.appendChild(said);
      }
      appendRichText(bubble, display || text);
      row.appendChild(bubble);

      const meta = el('div', 'rc-meta');
      meta.appendChild(timeNode(parseTime(time)));
      row.appendChild(meta);

      if (author !== 'customer' && Array.isArray(buttons) && buttons.length) {
        const group = el('div', 'rc-quick');
        group.setAttribute('role', 'group');
        for (const b of buttons) {
          if (!b || typeof b !== 'object') continue;
          const payload = str(b.payload);
          const title = str(b.title) || payload;
          if (!payload && !title) continue;
          payloadTitles.set(payload || title, title);
          const button = el('button', 'rc-quick-btn', title);
          button.type = 'button';
          button.dataset.testid = 'quick-reply';
          button.dataset.payload = payload || title;
          button.addEventListener('click', () => {
            if (button.disabled || group.dataset.used) return;
            group.dataset.used = '1';
            button.classList.add('rc-chosen');
            sendMessage(payload || title, title);
          });
          group.appendChild(button);
        }
        if (group.childElementCount) row.appendChild(group);
      }
      labelRow(row);
      return row;
    }

    /**
     * Meta line of a customer row: time plus state (sending / sent / failed + retry). `reason`
     * is the server's (a code such as "unavailable"), worded by `labelState`.
     */
    function setLocalState(row, state, reason) {
      const bubble = row.querySelector('.rc-bubble');
      bubble.dataset.state = state;
      row.dataset.state = state;
      row.dataset.reason = reason || '';
      const meta = row.querySelector('.rc-meta');
      meta.querySelectorAll('.rc-state').forEach((n) => n.remove());
      row.querySelectorAll('.rc-fail').forEach((n) => n.remove());
      // A failed message keeps its place in the thread; only pending ones stay at the end.
      row.classList.toggle('rc-row--local', state === 'pending');
      meta.appendChild(el('span', `rc-state rc-state--${state}`, state === 'sent' ? '✓' : null));
      if (state === 'failed') {
        const fail = el('div', 'rc-fail');
        if (reason) fail.appendChild(el('span', 'rc-reason'));
        const retry = el('button', 'rc-retry');
        retry.type = 'button';
        retry.dataset.testid = 'retry';
        retry.addEventListener('click', () => retryLocal(row));
        fail.appendChild(retry);
        row.appendChild(fail);
      }
      labelState(row);
    }

    /** Word a customer row's state in the page's language. */
    function labelState(row) {
      const mark = row.querySelector('.rc-state');
      if (row.dataset.state === 'sent') {
        mark.title = T.sent;
        mark.setAttribute('aria-label', T.sent);
      } else {
        mark.textContent = row.dataset.state === 'pending' ? T.sending : T.notSent;
      }
      const reason = row.querySelector('.rc-reason');
      if (reason) reason.textContent = reasonText(row.dataset.reason);
      const retry = row.querySelector('.rc-retry');
      if (retry) retry.textContent = T.retry;
    }

    /** Mark a row typed here as accepted; it joins the server's order (before rows still pending). */
    function confirmLocal(row, { id, time, messageId } = {}) {
      const bubble = row.querySelector('.rc-bubble');
      if (id) bubble.dataset.id = id;
      if (messageId) row.dataset.messageId = messageId;
      if (time) {
        const old = row.querySelector('.rc-time');
        if (old) old.replaceWith(timeNode(parseTime(time)));
      }
      if (row.dataset.state !== 'sent') setLocalState(row, 'sent');
      row.classList.remove('rc-row--local');
      insertConfirmed(row);
    }

    /**
     * Quick replies stay usable only until the customer has written after them. A message the
     * bot answered with a pause ("hold on" -> "No rush") does not count: the question stands.
     * "Back to the assistant" stays usable while the handoff waits, whatever the customer adds
     * for the team meanwhile, until a person joins, the assistant is back or the case is closed.
     */
    function refreshQuickReplies() {
      let nextCustomer = null;
      let paused = false;
      let settled = false; // the handoff's wait ended after this row
      const rows = ui.log.children;
      for (let i = rows.length - 1; i >= 0; i--) {
        const row = rows[i];
        if (WAIT_ENDS.has(row.dataset.event)) settled = true;
        if (row.dataset.author === 'customer') {
          if (!paused) nextCustomer = row;
          paused = false;
          continue;
        }
        if (row.dataset.pause) { paused = true; continue; }
        const group = row.querySelector('.rc-quick');
        if (!group) continue;
        const wayBack = [...group.querySelectorAll('button')].every((b) => b.dataset.payload === BACK_TO_BOT);
        const answered = wayBack ? settled : nextCustomer !== null;
        // The gateway echoes a quick reply with its title as the text; older servers with the payload.
        const said = answered && nextCustomer ? nextCustomer.dataset.text : null;
        group.classList.toggle('rc-quick--used', answered);
        for (const b of group.querySelectorAll('button')) {
          b.disabled = answered;
          if (answered && (said === b.dataset.payload || said === b.textContent)) b.classList.add('rc-chosen');
        }
        if (!answered) delete group.dataset.used;
      }
    }

    /** Consecutive bubbles of the same speaker are drawn as one group. */
    function regroup() {
      let prevKey = '';
      for (const row of ui.log.children) {
        const key = row.classList.contains('rc-row') && row.dataset.state !== 'failed'
          ? `${row.dataset.author}|${row.dataset.agent || ''}`
          : '';
        row.classList.toggle('rc-cont', key !== '' && key === prevKey);
        prevKey = key;
      }
    }

    function afterChange() {
      refreshQuickReplies();
      regroup();
    }

    /** What an event line says: from its event (and agent), or an error from its reason. */
    function eventText(event, agent) {
      switch (event) {
        case 'queued': return T.queued;
        case 'agent_joined': return agent ? T.agentJoined(agent) : T.agentJoinedAnon;
        case 'bot_back': return T.botBack;
        case 'closed': return T.closed;
        default: return '';
      }
    }

    function labelLine(line) {
      const { event, agent, reason, time } = line.dataset;
      line.textContent = event ? eventText(event, agent) : T.error(reasonText(reason) || '?');
      if (time) line.title = formats.full.format(parseTime(time));
    }

    /** A line between the messages: an event (`event`, `agent`) or an error (`reason`). */
    function addSystemLine({ id, event, agent, reason, time, live } = {}) {
      const line = el('div', 'rc-event');
      line.dataset.testid = 'event';
      if (event) line.dataset.event = event;
      if (agent) line.dataset.agent = agent;
      if (reason) line.dataset.reason = reason;
      if (time) line.dataset.time = time;
      line.dataset.id = id || '';
      labelLine(line);
      if (live) line.classList.add('rc-in');
      keepingBottom(() => { insertConfirmed(line); afterChange(); });
      return line;
    }

    /* ---------- typing */
    let typingTimer = 0;
    let slowTimer = 0;
    function setTyping(on) {
      clearTimeout(typingTimer);
      clearTimeout(slowTimer);
      ui.typingSlow.hidden = true;
      if (on) {
        keepingBottom(() => { ui.typing.hidden = false; });
        typingTimer = setTimeout(() => { ui.typing.hidden = true; }, TYPING_MAX_MS);
        // Dots alone for 18 s read as a chat that broke (QA s22 W8).
        slowTimer = setTimeout(() => {
          ui.typingSlow.textContent = T.slow;
          keepingBottom(() => { ui.typingSlow.hidden = false; });
        }, SLOW_MS);
      } else {
        ui.typing.hidden = true;
      }
    }

    /* ---------- frames from the server */

    function onMessage(f) {
      const id = str(f.id);
      if (id && seen.has(id)) return;
      if (id) { seen.add(id); noteId(id); }
      const author = ['customer', 'bot', 'agent'].includes(f.author) ? f.author : 'bot';
      const text = str(f.text);
      const clientId = str(f.client_id);
      const live = isLive(id);
      if (live) releaseRestoredFailures();

      if (author === 'customer' && clientId) {
        dropFromOutbox(clientId);
        const row = locals.get(clientId);
        if (row) {
          keepingBottom(() => {
            confirmLocal(row, { id, time: f.time, messageId: str(f.message_id) });
            afterChange();
          });
          return;
        }
      }
      if (author !== 'customer') setTyping(false);
      // After "closed" the next customer message starts a new conversation with the assistant.
      else if (ownerStatus.state === 'closed') setOwner('bot');

      const display = author === 'customer'
        ? str(f.display) || payloadTitles.get(text) || ''
        : '';
      const agent = author === 'agent' ? str(f.agent).slice(0, 80) : '';
      const row = buildRow({
        author, text, display, id, clientId, time: f.time, agent, buttons: f.buttons, live,
        pause: f.pause === true, messageId: str(f.message_id),
        quote: author === 'bot' ? quoteOf(str(f.answers)) : '',
      });
      if (author === 'customer') setLocalState(row, 'sent');
      keepingBottom(() => { insertConfirmed(row); afterChange(); }, { notify: live && author !== 'customer' });
      if (live && author !== 'customer') notifyParent({ type: 'message', author });
    }

    /**
     * The customer's words a reply answers, when they are not the customer's last message: a
     * slow answer to a first question lands below a second one (QA s22 W11). Decided once per
     * answered message, on its first reply: "did this help?" after it quotes nothing.
     */
    function quoteOf(answers) {
      if (!answers || quoted.has(answers)) return '';
      quoted.add(answers);
      const asked = [...ui.log.querySelectorAll('.rc-row--customer')];
      const row = asked.find((r) => r.dataset.messageId === answers);
      if (!row || row === asked[asked.length - 1]) return '';
      const words = row.querySelector('.rc-bubble').textContent.trim();
      return words.length > QUOTE_CHARS ? `${words.slice(0, QUOTE_CHARS - 1)}…` : words;
    }

    function onEvent(f) {
      const id = str(f.id);
      if (id && seen.has(id)) return;
      if (id) { seen.add(id); noteId(id); }
      const agent = str(f.agent).slice(0, 80);
      if (isLive(id)) releaseRestoredFailures();
      const event = str(f.event);
      if (!Object.prototype.hasOwnProperty.call(EVENT_OWNER, event)) return;
      if (event === 'closed') setTyping(false);
      setOwner(EVENT_OWNER[event], agent);
      addSystemLine({ id, event, agent, time: f.time, live: isLive(id) });
    }

    function reasonText(reason) {
      const r = str(reason);
      return Object.prototype.hasOwnProperty.call(T.reasons, r) ? T.reasons[r] : r;
    }

    function onError(f) {
      const clientId = str(f.client_id);
      const row = clientId ? locals.get(clientId) : null;
      const reason = str(f.reason).slice(0, 300);
      if (row && row.dataset.state !== 'sent') {
        const entry = outbox.find((e) => e.client_id === clientId);
        if (entry) { entry.failed = reason || true; saveOutbox(); }
        setLocalState(row, 'failed', reason);
        afterChange();
        return;
      }
      addSystemLine({ reason, live: true });
    }

    function onAck(f) {
      const clientId = str(f.client_id);
      if (!clientId) return;
      dropFromOutbox(clientId);
      const row = locals.get(clientId);
      if (row && row.dataset.state !== 'sent') {
        keepingBottom(() => { confirmLocal(row); afterChange(); });
      }
    }

    function onFrame(f) {
      if (!f || typeof f !== 'object') return;
      switch (f.type) {
        case 'message': onMessage(f); if (f.ends_turn) setTyping(false); break;
        case 'event': onEvent(f); if (f.ends_turn) setTyping(false); break;
        case 'typing': setTyping(f.on === true); break;
        case 'ack': onAck(f); if (f.typing === true) setTyping(true); break;
        case 'error': onError(f); break;
        case 'language': setLanguage(f.language); break;
        default: break; // pong (any frame tells the socket is alive) and anything newer: ignored
      }
    }

    /** The conversation's language, from the server: the page's texts switch to it, drawn ones too. */
    function setLanguage(code) {
      const lang = known(str(code));
      if (!lang) return;
      local.set(LANGUAGE_KEY, lang);
      if (lang === uiLang) return;
      uiLang = lang;
      T = STRINGS[lang];
      formats = formatsFor(lang);
      applyStrings();
      renderStatus();
      if (ui.banner.dataset.key) ui.bannerText.textContent = T[ui.banner.dataset.key];
      for (const line of ui.log.querySelectorAll('.rc-event')) labelLine(line);
      for (const row of ui.log.querySelectorAll('.rc-row')) labelRow(row);
      for (const t of ui.log.querySelectorAll('time.rc-time')) labelTime(t);
      updateComposer();
    }

    /* ---------- sending */

    function transmit(entry) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      const frame = { type: 'message', client_id: entry.client_id, text: entry.text };
      if (entry.display && entry.display !== entry.text) frame.display = entry.display;
      socket.send(JSON.stringify(frame));
      expectAnswer(socket);
      return true;
    }

    function addLocalRow(entry, state, reason) {
      const row = buildRow({
        author: 'customer',
        text: entry.text,
        display: entry.display,
        clientId: entry.client_id,
        time: entry.at ? new Date(entry.at).toISOString() : null,
        live: state === 'pending',
      });
      locals.set(entry.client_id, row);
      setLocalState(row, state, reason);
      keepingBottom(() => { ui.log.appendChild(row); afterChange(); }, { force: true });
      return row;
    }

    function sendMessage(text, display) {
      releaseRestoredFailures();
      if (ownerStatus.state === 'closed') setOwner('bot');
      const entry = { client_id: uuid(), text, at: Date.now() };
      if (display && display !== text) entry.display = display;
      outbox.push(entry);
      saveOutbox();
      addLocalRow(entry, 'pending');
      transmit(entry);
    }

    /**
     * A failed message goes again under its own client_id: the server dedupes by it, so a
     * message it stored although its answer was lost is acknowledged as a duplicate, not
     * answered twice, and its log entry still finds this row.
     */
    function retryLocal(row) {
      const clientId = row.querySelector('.rc-bubble').dataset.clientId;
      const old = outbox.find((e) => e.client_id === clientId);
      const entry = { client_id: clientId, text: old ? old.text : row.dataset.text, at: Date.now() };
      if (old && old.display) entry.display = old.display;
      outbox = outbox.filter((e) => e.client_id !== clientId);
      outbox.push(entry);
      saveOutbox();
      setLocalState(row, 'pending');
      keepingBottom(() => { ui.log.appendChild(row); afterChange(); }, { force: true });
      transmit(entry);
    }

    /* ---------- composer */

    const LINE_LIMIT = 5;
    function autosize() {
      const input = ui.input;
      input.style.height = 'auto';
      const cs = getComputedStyle(input);
      const line = parseFloat(cs.lineHeight) || 22;
      const pad = parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom);
      const border = parseFloat(cs.borderTopWidth) + parseFloat(cs.borderBottomWidth);
      const max = line * LINE_LIMIT + pad + border;
      const wanted = input.scrollHeight + border;
      input.style.height = `${Math.min(wanted, max)}px`;
      input.style.overflowY = wanted > max ? 'auto' : 'hidden';
    }

    function updateComposer() {
      const value = ui.input.value;
      const n = countChars(value);
      const over = n > LIMIT;
      ui.send.disabled = over || value.trim() === '';
      ui.counter.hidden = n < COUNTER_FROM;
      ui.counter.textContent = over ? T.overLimit(n) : T.counter(n);
      ui.counter.classList.toggle('rc-counter--over', over);
      if (over) ui.input.setAttribute('aria-invalid', 'true');
      else ui.input.removeAttribute('aria-invalid');
    }

    function submit() {
      const text = ui.input.value.trim();
      if (!text || countChars(ui.input.value) > LIMIT) return;
      sendMessage(text);
      ui.input.value = '';
      updateComposer();
      autosize();
      ui.input.focus();
    }

    ui.input.addEventListener('input', () => { updateComposer(); autosize(); });
    ui.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        submit();
      } else if (e.key === 'Escape' && embedded) {
        notifyParent({ type: 'close' });
      }
    });
    ui.form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
    updateComposer();
    autosize();
    // The full page is for typing: the cursor waits in the field, except on a phone, whose
    // keyboard would cover the conversation (the widget asks for the focus when it opens).
    if (!embedded && !window.matchMedia('(max-width: 479.98px)').matches) {
      ui.input.focus({ preventScroll: true });
    }

    /* ---------- embedding: tell the widget about new messages, take its focus requests */

    function notifyParent(message) {
      if (!embedded || window.parent === window) return;
      try { window.parent.postMessage({ source: 'relevo-webchat', ...message }, '*'); } catch (_) { /* ignore */ }
    }

    if (embedded) {
      window.addEventListener('message', (e) => {
        if (e.source !== window.parent || !e.data || e.data.source !== 'relevo-widget') return;
        if (e.data.type === 'focus') ui.input.focus({ preventScroll: true });
      });
      document.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && e.target !== ui.input) notifyParent({ type: 'close' });
      });
    }

    /* ---------- the socket */

    let socket = null;
    let attempt = 0;
    let everOpen = false;
    let retryTimer = 0;
    let pingTimer = 0;
    let stableTimer = 0;
    let bannerTimer = 0;
    let answerTimer = 0;

    function socketUrl() {
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
      const params = new URLSearchParams({ conversation: convId, after: lastId, lang: navLang, tz });
      if (continueToken) params.set('continue', continueToken);
      return `${proto}//${location.host}${WS_PATH}?${params}`;
    }

    /** The banner above the log: "connecting" or "reconnecting" (a key of the strings). */
    function showBanner(key) {
      clearTimeout(bannerTimer);
      ui.banner.dataset.key = key;
      ui.bannerText.textContent = T[key];
      ui.banner.hidden = false;
    }

    function hideBanner() {
      clearTimeout(bannerTimer);
      ui.banner.hidden = true;
    }

    function setLink(value) {
      link = value;
      renderStatus();
    }

    /** The continue token has reached the server: forget it, also in the address bar. */
    function consumeContinueToken() {
      if (!continueToken) return;
      continueToken = null;
      try {
        const url = new URL(location.href);
        url.searchParams.delete('continue');
        history.replaceState(history.state, '', url.pathname + url.search + url.hash);
      } catch (_) { /* ignore */ }
    }

    /**
     * What was sent (a ping, a message) must get a frame back within ANSWER_MS (the pong, the
     * ack), or the socket is dead: a network that dropped without closing it (a phone changing
     * networks, a laptop waking up) looks just like a quiet one.
     */
    function expectAnswer(ws) {
      if (!answerTimer) answerTimer = setTimeout(() => drop(ws), ANSWER_MS);
    }

    function ping(ws) {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send('{"type":"ping"}');
      expectAnswer(ws);
    }

    function connect() {
      clearTimeout(retryTimer);
      retryTimer = 0;
      if (socket) return;
      if (navigator.onLine === false) { // no network: the `online` event (or the backoff) tries again
        scheduleReconnect();
        return;
      }
      let ws;
      try {
        ws = new WebSocket(socketUrl());
      } catch (_) {
        scheduleReconnect();
        return;
      }
      socket = ws;
      ws.onopen = () => {
        if (socket !== ws) return;
        everOpen = true;
        setLink('online');
        hideBanner();
        consumeContinueToken();
        for (const entry of outbox) if (!entry.failed) transmit(entry);
        pingTimer = setInterval(() => ping(ws), PING_MS);
        stableTimer = setTimeout(() => { attempt = 0; }, STABLE_MS);
      };
      ws.onmessage = (e) => {
        if (socket !== ws || typeof e.data !== 'string') return;
        clearTimeout(answerTimer);
        answerTimer = 0;
        let frame;
        try { frame = JSON.parse(e.data); } catch (_) { return; }
        onFrame(frame);
      };
      ws.onclose = () => lost(ws);
      ws.onerror = () => { /* a close event follows */ };
    }

    /** The socket is gone: say so, and connect again after the backoff. */
    function lost(ws) {
      if (socket !== ws) return;
      socket = null;
      clearInterval(pingTimer);
      clearTimeout(stableTimer);
      clearTimeout(answerTimer);
      answerTimer = 0;
      setLink('offline');
      setTyping(false);
      showBanner(everOpen ? 'reconnecting' : 'connecting');
      scheduleReconnect();
    }

    /** Give up on a socket that stopped answering (its close event may take minutes to come). */
    function drop(ws) {
      lost(ws);
      try { ws.close(); } catch (_) { /* already closing */ }
    }

    /** Exponential backoff from 0.5 s doubling to 10 s, each delay jittered by ±20 %. */
    function scheduleReconnect() {
      if (retryTimer) return;
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
      attempt = Math.min(attempt + 1, 16);
      const delay = Math.min(BACKOFF_MAX_MS, base * (0.8 + Math.random() * 0.4));
      retryTimer = setTimeout(connect, delay);
    }

    /** Back online or back in the foreground: try now instead of waiting for the backoff. */
    function reconnectNow() {
      if (socket) return;
      attempt = 0;
      connect();
    }
    window.addEventListener('online', reconnectNow);
    window.addEventListener('offline', () => { if (socket) drop(socket); });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible') return;
      if (socket) ping(socket); // a socket that slept with the device may be dead
      else reconnectNow();
    });

    /* ---------- start: restore what this tab had not got acknowledged, then connect */
    for (const entry of outbox) {
      const row = addLocalRow(entry, entry.failed ? 'failed' : 'pending', typeof entry.failed === 'string' ? entry.failed : '');
      row.classList.add('rc-row--local');
    }
    renderStatus();
    bannerTimer = setTimeout(() => {
      if (!everOpen) showBanner('connecting');
    }, CONNECTING_BANNER_DELAY_MS);
    connect();
  }

  /** An accent colour from the embedding page; the ink on it is chosen for contrast. */
  /** WCAG relative luminance of sRGB channels in [0, 1]. */
  function luminance(rgb) {
    const [r, g, b] = rgb.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  /** The accent darkened until it reads as text on white (4.5:1: luminance 0.183 or less). */
  function inkOf(rgb) {
    let ink = rgb;
    for (let f = 0.95; luminance(ink) > 0.183 && f > 0; f -= 0.05) ink = rgb.map((c) => c * f);
    return `#${ink.map((c) => Math.round(c * 255).toString(16).padStart(2, '0')).join('')}`;
  }

  function applyAccent(hex) {
    let h = hex.slice(1);
    if (h.length === 3) h = h.split('').map((c) => c + c).join('');
    const rgb = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);
    const lum = luminance(rgb);
    const root = document.documentElement.style;
    const accent = `#${h}`;
    const mix = (other, pct) => (window.CSS && CSS.supports('color', 'color-mix(in srgb, red 50%, white)')
      ? `color-mix(in srgb, ${accent} ${pct}%, ${other})` : accent);
    root.setProperty('--rc-accent', accent);
    root.setProperty('--rc-accent-strong', accent);
    // Links and quick replies in the accent: yellow (#ffcc00) on white read at 1.5:1 (QA s22 W4).
    if (lum > 0.183) root.setProperty('--rc-accent-ink', inkOf(rgb));
    root.setProperty('--rc-header-2', mix('white', 82));
    root.setProperty('--rc-accent-soft', mix('transparent', 16));
    root.setProperty('--rc-on-accent', lum > 0.4 ? '#10202b' : '#ffffff');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
