/*
 * Relevo agent console.
 *
 * Plain ES2020, no build step, no dependencies. JSON over fetch to /console/api (every request
 * carries the X-Relevo-Console header the server requires of POSTs) and one WebSocket at
 * /console/ws that says which handoff changed; the page then fetches what it shows again.
 * Text from the server only ever enters the page through textContent.
 *
 * The server redacts personal data in everything it sends (the customer's messages show as
 * "[card ••••4242]"); "Reveal personal data" asks for the real text, which the server logs, and
 * shows it in a box that is dropped when the agent hides it or opens another handoff.
 */
(() => {
  'use strict';

  const API = '/console/api';
  const HEADERS = { 'X-Relevo-Console': '1' };
  const PING_MS = 25000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const TICK_MS = 15000;
  const NEAR_BOTTOM_PX = 80;

  const CHANNELS = { telegram: 'Telegram', webchat: 'Web chat', social: 'Public post' };
  const REASONS = {
    asked_for_person: 'Asked for a person',
    low_confidence: 'Assistant not sure',
    negative_feedback: 'Answer did not help',
    complaint: 'Complaint',
    repeated_failure: 'Two answers failed',
    sensitive_topic: 'A topic for people only',
    personal_case: 'Own booking',
  };
  const PRIORITIES = { urgent: 'Urgent', high: 'High', normal: 'Normal', low: 'Low' };
  const PAST_STATES = {
    queued: () => 'waiting for an agent',
    agent: (agent) => (agent ? `with ${agent}` : 'with an agent'),
    returned: () => 'returned to the bot',
    closed: (agent) => (agent ? `resolved by ${agent}` : 'resolved'),
  };
  const LANGUAGES = { es: 'Spanish', en: 'English' };
  const EVENTS = {
    agent_joined: (agent) => `${agent || 'An agent'} joined`,
    bot_back: () => 'The assistant is back',
    closed: () => 'Resolved',
    queued: () => 'Waiting for an agent',
    new_conversation: () => 'New conversation',
  };
  const HISTORY = {
    claim: 'claimed',
    reassign: 'reassigned',
    return: 'returned to the bot',
    resolve: 'resolved',
    reopen: 'reopened',
    rating: 'rated',
    merge: "closed this into the customer's open handoff",
  };

  const $ = (id) => document.getElementById(id);
  const str = (v) => (typeof v === 'string' ? v : v == null ? '' : String(v));
  const list = (v) => (Array.isArray(v) ? v : []);
  const SVG = 'http://www.w3.org/2000/svg';

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  /** An icon of the page's sprite (`#cc-i-<name>`), hidden from screen readers. */
  function icon(name, size) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('width', String(size || 16));
    svg.setAttribute('height', String(size || 16));
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('class', 'cc-icon');
    const use = document.createElementNS(SVG, 'use');
    use.setAttribute('href', `#cc-i-${name}`);
    svg.appendChild(use);
    return svg;
  }

  /** `special-assistance` -> `Special assistance` (the API names known departments itself). */
  function departmentName(key) {
    const k = str(key).replace(/-/g, ' ');
    return k ? k.charAt(0).toUpperCase() + k.slice(1) : '';
  }

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === 'function') {
      try { return crypto.randomUUID(); } catch (_) { /* insecure context */ }
    }
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /* ------------------------------------------------------------------ time */

  // Dates and numbers in the console's language, English: the browser's own English (en-US,
  // en-GB...) when it is one, else British English. The time zone stays the agent's.
  const LOCALE = /^en\b/i.test(navigator.language || '') ? navigator.language : 'en-GB';
  const timeFmt = new Intl.DateTimeFormat(LOCALE, { hour: '2-digit', minute: '2-digit' });
  const fullFmt = new Intl.DateTimeFormat(LOCALE, { dateStyle: 'medium', timeStyle: 'short' });
  const whenFmt = new Intl.DateTimeFormat(LOCALE, {
    weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  });
  const dayFmt = new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short', year: 'numeric' });

  function parseTime(value) {
    const d = new Date(str(value));
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function span(ms) {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes < 1) return 'less than a minute';
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
    return `${Math.floor(hours / 24)} d`;
  }

  function since(value) {
    const d = parseTime(value);
    return d ? span(Date.now() - d.getTime()) : '';
  }

  function shortSpan(ms) {
    const text = span(ms);
    return text === 'less than a minute' ? '<1 min' : text;
  }

  /**
   * The first-response SLA as a badge: on time, due soon, overdue (open handoffs), met or
   * answered late. The server says where it stood when it answered; the clock moves on between
   * refreshes, so a due time that has passed since reads overdue.
   */
  function slaStatus(h, compact) {
    const s = str(h.sla_state);
    const due = parseTime(h.sla_due_at);
    const left = due ? due.getTime() - Date.now() : null;
    const title = due ? `First response due ${fullFmt.format(due)}` : 'No first-response target';
    if (s === 'met') return { key: 'met', text: '✓ Met', title };
    if (s === 'late') return { key: 'late', text: 'Answered late', title };
    if (!isOpen(h)) return null;
    if (s === 'breached' || (left !== null && left < 0)) {
      return { key: 'breached', text: left !== null && left < 0 ? `Overdue ${shortSpan(left)}` : 'Overdue', title };
    }
    if (s === 'warning') {
      return { key: 'warning', text: left !== null ? `Due soon · ${shortSpan(left)}` : 'Due soon', title };
    }
    if (s === 'resolution_breached') return { key: 'breached', text: 'Resolution overdue', title };
    if (s === 'resolution_warning') return { key: 'warning', text: 'Resolution due soon', title };
    const text = left !== null && !compact ? `On time · ${shortSpan(left)} left` : 'On time';
    return { key: 'on_time', text, title: left !== null ? `${title} (${shortSpan(left)} left)` : title };
  }

  function slaBadge(h, compact) {
    const status = slaStatus(h, compact);
    if (!status) return null;
    const badge = el('span', `cc-sla cc-sla--${status.key}`);
    badge.dataset.testid = 'sla-badge';
    badge.dataset.sla = status.key;
    badge.title = status.title;
    if (status.key === 'breached' || status.key === 'warning') badge.appendChild(icon('clock', 13));
    badge.appendChild(el('span', null, status.text));
    return badge;
  }

  function priorityBadge(h) {
    const key = PRIORITIES[h.priority] ? h.priority : 'normal';
    const badge = el('span', `cc-prio cc-prio--${key}`);
    badge.dataset.testid = 'priority-badge';
    badge.dataset.priority = key;
    badge.appendChild(el('span', 'cc-prio-name', PRIORITIES[key]));
    const score = Number(h.score);
    if (Number.isFinite(score)) {
      badge.appendChild(el('span', 'cc-prio-score', String(score)));
      badge.title = `Priority ${PRIORITIES[key].toLowerCase()}, score ${score}`;
    }
    return badge;
  }

  function timeNode(value) {
    const d = parseTime(value);
    const t = el('time');
    if (!d) return t;
    t.dateTime = d.toISOString();
    t.textContent = timeFmt.format(d);
    t.title = fullFmt.format(d);
    return t;
  }

  /* ------------------------------------------------------------------ state */

  const state = {
    me: null,
    open: [],
    closed: [],
    agents: [],
    filter: 'open',
    selected: null,
    detail: null,
    noteChosen: false,
    whyOpen: false, // "Why this priority" unfolded (at first on wide screens only)
    pendingSend: null, // {text, note, clientId}: a send whose fate is unknown reuses its id
  };

  const isOpen = (h) => h.state === 'queued' || h.state === 'agent';
  const isMine = (h) => h.state === 'agent' && state.me && h.owner === state.me.id;

  function customerName(h) {
    const c = h.customer || {};
    if (c.name) return str(c.name);
    if (c.handle) return `@${str(c.handle)}`;
    const id = str(c.id || h.conversation_id);
    return h.channel === 'webchat' ? `Visitor ${id.replace(/^wc-/, '').slice(0, 6)}` : id;
  }

  function stateLabel(h) {
    if (h.state === 'queued') return 'Waiting';
    if (h.state === 'agent') return isMine(h) ? 'With you' : `With ${h.owner_name || h.owner}`;
    if (h.state === 'returned') return 'Back with the bot';
    if (h.state === 'closed' && h.merged_into) return 'Closed into another handoff';
    if (h.state === 'closed') return h.rating ? `Resolved · ${h.rating}/5` : 'Resolved';
    return h.state;
  }

  /* ------------------------------------------------------------------ API */

  class ApiError extends Error {
    constructor(status, message, outcome) {
      super(message);
      this.status = status;
      this.outcome = outcome || '';
    }
  }

  async function api(method, path, body) {
    const init = { method, headers: { ...HEADERS }, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (_) {
      throw new ApiError(0, 'The console cannot reach the server. Check the connection and retry.');
    }
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch (_) { data = null; }
    }
    if (!res.ok) {
      const message = (data && (data.error || data.detail)) || `The server answered ${res.status}.`;
      if (res.status === 401 && state.me) loggedOut();
      throw new ApiError(res.status, str(message), data && str(data.outcome));
    }
    return data;
  }

  /* ------------------------------------------------------------------ boot and login */

  const ui = {};

  function boot() {
    for (const id of [
      'login', 'login-form', 'login-name', 'login-token', 'login-error', 'app', 'me', 'logout',
      'live', 'live-text', 'main', 'list', 'empty', 'open-count', 'placeholder', 'detail', 'back',
      'who-name', 'who-meta', 'state', 'claim', 'return', 'resolve', 'reassign-to', 'reassign',
      'notice', 'scroll', 'thread', 'facts', 'draft-box', 'draft', 'use-draft', 'hits-box', 'hits',
      'activity', 'composer', 'note', 'note-switch', 'hint', 'composer-row', 'text', 'send',
      'composer-error', 'badges', 'history-open', 'reveal', 'why-toggle', 'why-list', 'banners',
      'revealed', 'revealed-text', 'revealed-hide', 'history-panel', 'history-title',
      'history-close', 'history-status', 'past', 'invite',
    ]) {
      ui[id.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = $(`cc-${id}`);
    }

    const wanted = takeFragment().get('h');
    // The login link opened in a console tab already open changes only the fragment.
    window.addEventListener('hashchange', takeFragment);

    ui.loginForm.addEventListener('submit', onLogin);
    ui.logout.addEventListener('click', onLogout);
    ui.back.addEventListener('click', () => { ui.main.dataset.view = 'queue'; });
    for (const chip of document.querySelectorAll('.cc-chip')) {
      chip.addEventListener('click', () => { state.filter = chip.dataset.filter; renderQueue(); });
    }
    ui.claim.addEventListener('click', () => act('claim'));
    ui.return.addEventListener('click', () => act('return'));
    ui.resolve.addEventListener('click', () => act('resolve'));
    ui.reassign.addEventListener('click', () => {
      if (ui.reassignTo.value) act('reassign', { to_id: ui.reassignTo.value });
    });
    ui.useDraft.addEventListener('click', () => {
      ui.text.value = ui.draft.textContent;
      autosize();
      ui.text.focus();
    });
    ui.historyOpen.addEventListener('click', () => {
      if (ui.historyPanel.hidden) openHistory();
      else closeHistory();
    });
    ui.historyClose.addEventListener('click', () => { closeHistory(); ui.historyOpen.focus(); });
    ui.historyPanel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        closeHistory();
        ui.historyOpen.focus();
      }
    });
    ui.reveal.addEventListener('click', reveal);
    ui.invite.addEventListener('click', invite);
    ui.whyToggle.addEventListener('click', () => {
      state.whyOpen = !state.whyOpen;
      if (state.detail) renderTriage(state.detail.handoff);
    });
    ui.revealedHide.addEventListener('click', () => { hideRevealed(); ui.reveal.focus(); });
    ui.note.addEventListener('change', () => { state.noteChosen = ui.note.checked; renderComposer(); });
    ui.composer.addEventListener('submit', (e) => { e.preventDefault(); send(); });
    ui.text.addEventListener('input', () => { autosize(); ui.composerError.hidden = true; });
    ui.text.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
      }
    });
    setInterval(tick, TICK_MS);

    api('GET', `${API}/me`).then(
      (me) => start(me, wanted),
      () => showLogin(),
    );
  }

  /**
   * The address's fragment. A link printed by `relevo up` carries the token there (a fragment
   * never reaches a server): it moves into the login form and out of the address bar.
   */
  function takeFragment() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get('token')) {
      ui.loginToken.value = fragment.get('token');
      history.replaceState(null, '', location.pathname);
    }
    return fragment;
  }

  function showLogin(message) {
    ui.app.hidden = true;
    ui.login.hidden = false;
    ui.loginError.hidden = !message;
    ui.loginError.textContent = message || '';
    (ui.loginName.value ? ui.loginToken : ui.loginName).focus();
  }

  async function onLogin(e) {
    e.preventDefault();
    const name = ui.loginName.value.trim();
    const token = ui.loginToken.value.trim();
    if (!name || !token) {
      showLogin('Your name and the token, please.');
      return;
    }
    try {
      start(await api('POST', '/console/login', { name, token }));
    } catch (err) {
      showLogin(err.status === 401 ? 'That token is not right.' : err.message);
    }
  }

  async function onLogout() {
    try { await api('POST', '/console/logout'); } catch (_) { /* the cookie goes anyway */ }
    loggedOut();
  }

  function loggedOut() {
    state.me = null;
    hideRevealed();
    closeHistory();
    closeSocket();
    showLogin();
  }

  function start(me, wanted) {
    state.me = { id: str(me.id), name: str(me.name) };
    ui.me.textContent = state.me.name;
    ui.login.hidden = true;
    ui.app.hidden = false;
    ui.loginToken.value = '';
    connect();
    refreshQueue();
    refreshAgents();
    if (wanted) select(wanted);
  }

  /* ------------------------------------------------------------------ live updates */

  let socket = null;
  let backoff = BACKOFF_MIN_MS;
  let reconnectTimer = 0;
  let pingTimer = 0;

  function setLive(live) {
    ui.live.dataset.state = live;
    ui.liveText.textContent = { live: 'Live', offline: 'Reconnecting…', connecting: 'Connecting…' }[live];
  }

  function connect() {
    clearTimeout(reconnectTimer);
    setLive('connecting');
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const ws = new WebSocket(`${scheme}${location.host}/console/ws`);
    socket = ws;
    ws.addEventListener('open', () => {
      if (socket !== ws) return;
      setLive('live');
      backoff = BACKOFF_MIN_MS;
      watch();
      refreshQueue(); // whatever changed while the socket was down
      if (state.selected) refreshDetail();
      pingTimer = setInterval(() => sendFrame({ type: 'ping' }), PING_MS);
    });
    ws.addEventListener('message', (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch (_) { return; }
      if (frame && frame.type === 'changed') changed(str(frame.handoff));
    });
    ws.addEventListener('close', () => {
      clearInterval(pingTimer);
      if (socket !== ws || !state.me) return;
      socket = null;
      setLive('offline');
      reconnectTimer = setTimeout(() => {
        // A refused socket may mean an expired session: /me says so (and shows the login).
        api('GET', `${API}/me`).then(() => connect(), (err) => { if (err.status !== 401) connect(); });
      }, backoff);
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    });
  }

  function closeSocket() {
    clearTimeout(reconnectTimer);
    clearInterval(pingTimer);
    const ws = socket;
    socket = null;
    if (ws) ws.close();
  }

  function sendFrame(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function watch() {
    if (state.selected) sendFrame({ type: 'watch', handoff: state.selected });
  }

  let refreshTimer = 0;
  let detailDirty = false;

  function changed(handoffId) {
    if (handoffId && handoffId === state.selected) detailDirty = true;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      refreshQueue();
      if (detailDirty) {
        detailDirty = false;
        refreshDetail();
      }
    }, 100);
  }

  /** Runs `load` now, or once more after the run in flight: never two at once, never stale. */
  function serial(load) {
    let running = null;
    let again = false;
    return async function run() {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        do {
          again = false;
          try { await load(); } catch (err) { if (err.status !== 401) console.warn(err.message); }
        } while (again);
      })();
      try { await running; } finally { running = null; }
    };
  }

  /* ------------------------------------------------------------------ the queue */

  const refreshQueue = serial(async () => {
    const queue = await api('GET', `${API}/handoffs`);
    state.open = Array.isArray(queue.open) ? queue.open : [];
    state.closed = Array.isArray(queue.closed) ? queue.closed : [];
    renderQueue();
  });

  const refreshAgents = serial(async () => {
    const agents = await api('GET', `${API}/agents`);
    state.agents = Array.isArray(agents) ? agents : [];
    if (state.detail) renderActions(state.detail.handoff);
  });

  /** In the server's order: the most urgent first (priority, then score), then the oldest. */
  function shownHandoffs() {
    if (state.filter === 'closed') return state.closed;
    return state.filter === 'mine' ? state.open.filter(isMine) : state.open;
  }

  function renderQueue() {
    for (const chip of document.querySelectorAll('.cc-chip')) {
      chip.setAttribute('aria-pressed', String(chip.dataset.filter === state.filter));
    }
    const waiting = state.open.filter((h) => h.state === 'queued').length;
    ui.openCount.textContent = String(state.open.length);
    document.title = `${waiting ? `(${waiting}) ` : ''}Agent console · Relevo`;

    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.id : null;
    const shown = shownHandoffs();
    ui.list.replaceChildren(...shown.map(queueItem));
    ui.empty.hidden = shown.length > 0;
    ui.empty.textContent = state.filter === 'closed'
      ? 'Nothing resolved or returned recently.'
      : state.filter === 'mine' ? 'No conversations with you right now.'
        : 'Nothing waiting. New handoffs appear here as they arrive.';
    if (focused) {
      const again = ui.list.querySelector(`[data-id="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  function queueItem(h) {
    const li = el('li');
    const item = el('button', 'cc-item');
    item.type = 'button';
    item.dataset.testid = 'queue-item';
    item.dataset.id = h.id;
    item.dataset.state = h.state;
    item.dataset.priority = str(h.priority);
    item.dataset.sla = str(h.sla_state);
    item.dataset.conversation = h.conversation_id;
    if (h.id === state.selected) item.setAttribute('aria-current', 'true');
    item.appendChild(el('span', 'cc-item-who', customerName(h)));
    const waiting = h.waiting_since || h.created_at; // a reopening starts the wait anew
    const wait = el('span', 'cc-item-wait', since(waiting));
    wait.title = `Since ${fullFmt.format(parseTime(waiting) || new Date())}`;
    item.appendChild(wait);
    item.appendChild(el('span', 'cc-item-preview', h.preview || REASONS[h.reason] || h.reason));

    const tags = el('span', 'cc-item-tags');
    tags.appendChild(priorityBadge(h));
    const due = slaBadge(h, true);
    if (due) tags.appendChild(due);
    const owner = el('span', `cc-tag${h.state === 'agent' ? ' cc-tag--owner' : ''}`, stateLabel(h));
    owner.dataset.testid = 'queue-owner';
    tags.appendChild(owner);
    item.appendChild(tags);
    const about = [
      str(h.department_name), CHANNELS[h.channel] || str(h.channel), REASONS[h.reason] || str(h.reason),
    ];
    const meta = el('span', 'cc-item-meta', about.filter(Boolean).join(' · '));
    meta.dataset.testid = 'queue-department';
    item.appendChild(meta);
    item.addEventListener('click', () => select(h.id));
    li.appendChild(item);
    return li;
  }

  /* ------------------------------------------------------------------ the selected handoff */

  function select(id) {
    if (state.selected !== id) {
      state.selected = id;
      state.detail = null;
      state.pendingSend = null;
      threadNodes.clear();
      ui.thread.replaceChildren();
      ui.text.value = '';
      ui.notice.hidden = true;
      ui.composerError.hidden = true;
      hideRevealed();
      closeHistory();
      ui.whyList.replaceChildren();
      state.whyOpen = window.matchMedia('(min-width: 821px)').matches;
      history.replaceState(null, '', `${location.pathname}#h=${encodeURIComponent(id)}`);
    }
    ui.main.dataset.view = 'handoff';
    ui.placeholder.hidden = true;
    ui.detail.hidden = true;
    renderQueue();
    watch();
    refreshDetail();
  }

  const refreshDetail = serial(async () => {
    const id = state.selected;
    if (!id) return;
    let detail;
    try {
      detail = await api('GET', `${API}/handoffs/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err.status === 404 && state.selected === id) {
        state.selected = null;
        hideRevealed();
        closeHistory();
        ui.detail.hidden = true;
        ui.placeholder.hidden = false;
      }
      throw err;
    }
    if (state.selected !== id) return;
    state.detail = detail;
    renderDetail();
  });

  function renderDetail() {
    const { handoff: h } = state.detail;
    ui.placeholder.hidden = true;
    ui.detail.hidden = false;
    ui.whoName.textContent = customerName(h);
    renderWhoMeta();
    ui.state.textContent = stateLabel(h);
    ui.state.dataset.state = h.state;
    renderActions(h);
    renderTriage(h);
    renderComposer();
    renderThread(state.detail.thread || []);
    renderAside(state.detail);
  }

  function renderWhoMeta() {
    const h = state.detail.handoff;
    const parts = [CHANNELS[h.channel] || h.channel, LANGUAGES[h.language] || h.language];
    if (isOpen(h)) parts.push(`waiting ${since(h.waiting_since || h.created_at)}`); // since a reopening
    ui.whoMeta.textContent = parts.filter(Boolean).join(' · ');
  }

  function renderActions(h) {
    const open = isOpen(h);
    ui.claim.disabled = h.state !== 'queued';
    ui.claim.textContent = h.state === 'agent' ? (isMine(h) ? 'Yours' : `${h.owner_name} has it`) : 'Claim';
    ui.return.disabled = !open;
    ui.resolve.disabled = !open;
    const options = state.agents.filter((a) => a.id !== h.owner);
    const chosen = ui.reassignTo.value;
    ui.reassignTo.replaceChildren(el('option', null, 'Reassign to…'));
    ui.reassignTo.firstChild.value = '';
    for (const a of options) {
      const option = el('option', null, state.me && a.id === state.me.id ? `${a.name} (you)` : a.name);
      option.value = a.id;
      ui.reassignTo.appendChild(option);
    }
    if (options.some((a) => a.id === chosen)) ui.reassignTo.value = chosen;
    ui.reassignTo.disabled = !open || options.length === 0;
    ui.reassign.disabled = ui.reassignTo.disabled;
  }

  /* ------------------------------------------------------------------ triage, history, reveal */

  function renderBadges(h) {
    const badges = [priorityBadge(h)];
    const due = slaBadge(h);
    if (due) badges.push(due);
    if (h.department_name) {
      const department = el('span', 'cc-dept', str(h.department_name));
      department.dataset.testid = 'department';
      badges.push(department);
    }
    ui.badges.replaceChildren(...badges);
  }

  function banner(kind, emoji, label, text) {
    const li = el('li', `cc-banner cc-banner--${kind}`);
    li.dataset.testid = 'banner';
    li.dataset.kind = kind;
    li.appendChild(el('span', 'cc-banner-icon', emoji));
    const body = el('span', 'cc-banner-text');
    if (label) body.appendChild(el('strong', null, `${label}: `));
    body.appendChild(document.createTextNode(text));
    li.appendChild(body);
    return li;
  }

  /** Priority and SLA badges, why this priority, notices, out of hours, what may be revealed. */
  function renderTriage(h) {
    renderBadges(h);
    const reasons = [
      ...list(h.priority_reasons).map((r) => ['priority', str(r)]),
      ...list(h.routing_reasons).map((r) => ['routing', str(r)]),
    ];
    ui.whyList.replaceChildren(...reasons.map(([kind, text]) => {
      const li = el('li', `cc-why-item cc-why-item--${kind}`);
      li.appendChild(el('span', 'cc-why-kind', kind === 'priority' ? 'Priority' : 'Routing'));
      li.appendChild(el('span', 'cc-why-text', text));
      return li;
    }));
    ui.whyToggle.hidden = reasons.length === 0;
    ui.whyToggle.setAttribute('aria-expanded', String(state.whyOpen));
    ui.whyList.hidden = !state.whyOpen || reasons.length === 0;

    const banners = list(h.notices).map((n) => banner('notice', '📣', 'Notice', str(n)));
    for (const n of list(h.withdrawn_notices)) banners.push(banner('withdrawn', '📣', 'Notice withdrawn', str(n)));
    const opens = parseTime(h.opens_at);
    if (opens) {
      const verb = opens.getTime() > Date.now() ? 'opens' : 'opened';
      banners.push(banner('hours', '🌙', '', `Arrived out of hours; the shift ${verb} ${whenFmt.format(opens)}`));
    }
    ui.banners.replaceChildren(...banners);
    ui.banners.hidden = banners.length === 0;
    ui.reveal.hidden = !h.has_personal_data;
  }

  function currentHandoff() {
    if (state.detail && state.detail.handoff.id === state.selected) return state.detail.handoff;
    return state.open.concat(state.closed).find((h) => h.id === state.selected) || null;
  }

  let historyLoad = 0;

  async function openHistory() {
    const id = state.selected;
    if (!id) return;
    const load = ++historyLoad;
    ui.historyPanel.hidden = false;
    ui.historyOpen.setAttribute('aria-expanded', 'true');
    ui.historyStatus.textContent = 'Loading…';
    ui.past.replaceChildren();
    ui.historyTitle.focus();
    try {
      const found = await api('GET', `${API}/handoffs/${encodeURIComponent(id)}/history`);
      if (load !== historyLoad || state.selected !== id) return;
      const h = currentHandoff();
      renderHistory(list(found), h ? str(h.conversation_id) : '');
    } catch (err) {
      if (load === historyLoad) ui.historyStatus.textContent = err.message;
    }
  }

  function closeHistory() {
    historyLoad += 1;
    ui.historyPanel.hidden = true;
    ui.historyOpen.setAttribute('aria-expanded', 'false');
    ui.past.replaceChildren();
  }

  function renderHistory(conversations, current) {
    const earlier = conversations.filter((c) => str(c.conversation_id) !== current).length;
    if (!conversations.length) ui.historyStatus.textContent = 'No conversations on record for this customer.';
    else if (!earlier) ui.historyStatus.textContent = 'The customer\'s first conversation with us.';
    else ui.historyStatus.textContent = `${earlier} earlier conversation${earlier === 1 ? '' : 's'}, most recent first.`;
    ui.past.replaceChildren(...conversations.map((c) => pastConversation(c, str(c.conversation_id) === current)));
  }

  function pastConversation(c, isCurrent) {
    const li = el('li', 'cc-past-item');
    li.dataset.testid = 'history-item';
    li.dataset.conversation = str(c.conversation_id);
    if (isCurrent) li.dataset.current = 'true';
    const head = el('div', 'cc-past-head');
    head.appendChild(el('span', 'cc-past-channel', CHANNELS[c.channel] || str(c.channel) || 'Conversation'));
    const when = parseTime(c.started_at) || parseTime(c.last_message_at);
    if (when) {
      const t = el('time', 'cc-past-date', dayFmt.format(when));
      t.dateTime = when.toISOString();
      t.title = fullFmt.format(when);
      head.appendChild(t);
    }
    const count = Number(c.messages) || 0;
    head.appendChild(el('span', 'cc-past-count', `${count} message${count === 1 ? '' : 's'}`));
    if (isCurrent) head.appendChild(el('span', 'cc-past-current', 'This conversation'));
    li.appendChild(head);

    const handoffs = list(c.handoffs);
    if (handoffs.length) {
      const ul = el('ul', 'cc-past-handoffs');
      for (const past of handoffs) {
        const item = el('li', 'cc-past-handoff');
        item.dataset.testid = 'history-handoff';
        item.dataset.state = str(past.state);
        const stateText = PAST_STATES[past.state] ? PAST_STATES[past.state](str(past.agent)) : str(past.state);
        const department = str(past.department_name) || departmentName(past.department);
        const parts = [REASONS[past.reason] || str(past.reason), department, stateText];
        item.appendChild(el('span', null, `Handoff: ${parts.filter(Boolean).join(' · ')}`));
        if (past.rating) item.appendChild(el('span', 'cc-past-rating', `★ ${str(past.rating)}/5`));
        ul.appendChild(item);
      }
      li.appendChild(ul);
    }
    if (c.last_customer_message) {
      li.appendChild(el('p', 'cc-past-said', `“${str(c.last_customer_message)}”`));
    }
    return li;
  }

  async function reveal() {
    const id = state.selected;
    if (!id) return;
    const sure = window.confirm(
      'Reveal the personal data in this conversation?\n\nOnly you will see it, and the reveal is logged.',
    );
    if (!sure) return;
    ui.reveal.disabled = true;
    try {
      const answer = await api('POST', `${API}/handoffs/${encodeURIComponent(id)}/reveal`);
      if (state.selected === id) showRevealed(str(answer && answer.text));
    } catch (err) {
      showNotice(err.message);
    } finally {
      ui.reveal.disabled = false;
    }
  }

  function showRevealed(text) {
    const lines = text.split('\n');
    if (lines.length && lines[0].startsWith('🔓')) lines.shift(); // the box has its own heading
    ui.revealedText.textContent = lines.join('\n').trim() || 'No personal data in the customer\'s messages.';
    ui.revealed.hidden = false;
  }

  function hideRevealed() {
    ui.revealedText.textContent = '';
    ui.revealed.hidden = true;
  }

  function showNotice(text) {
    ui.notice.textContent = text;
    ui.notice.hidden = !text;
  }

  function renderComposer() {
    const h = state.detail ? state.detail.handoff : null;
    const open = h && isOpen(h);
    const mine = h && isMine(h);
    const note = !mine || state.noteChosen;
    ui.note.checked = note;
    ui.note.disabled = !mine;
    ui.noteSwitch.hidden = !open;
    ui.composerRow.hidden = !open;
    ui.composer.dataset.note = String(Boolean(open && note));
    ui.invite.hidden = !(open && h.public);
    ui.invite.disabled = !mine;
    ui.invite.title = mine
      ? 'Post an invitation with the links to a private chat on the public thread, as you'
      : 'Only the agent who owns the handoff invites the customer';
    ui.text.placeholder = note ? 'An internal note: only agents see it…' : 'Reply to the customer…';
    if (!h) return;
    if (!open) {
      ui.hint.textContent = h.state === 'returned'
        ? 'Back with the assistant: it answers the customer now.'
        : 'Resolved: nothing more to send.';
    } else if (!mine) {
      ui.hint.textContent = h.state === 'agent'
        ? `${h.owner_name} writes to the customer; you can add internal notes.`
        : 'Claim it to write to the customer; notes stay internal.';
    } else {
      ui.hint.textContent = note ? 'Only agents see notes.' : `The customer sees this as from ${state.me.name}.`;
    }
  }

  function autosize() {
    ui.text.style.height = 'auto';
    ui.text.style.height = `${Math.min(ui.text.scrollHeight + 3, 160)}px`;
  }

  async function act(verb, body) {
    const id = state.selected;
    if (!id) return;
    for (const b of [ui.claim, ui.return, ui.resolve, ui.reassign]) b.disabled = true;
    try {
      await api('POST', `${API}/handoffs/${encodeURIComponent(id)}/${verb}`, body || {});
      showNotice('');
    } catch (err) {
      showNotice(err.message);
    }
    await Promise.all([refreshDetail(), refreshQueue()]);
  }

  /** Invite to private: the server posts it once per handoff, so a second click only says so. */
  async function invite() {
    const h = state.detail ? state.detail.handoff : null;
    if (!h || ui.invite.disabled) return;
    const sure = window.confirm(
      'Invite the customer to continue in private?\n\nA short invitation with the links to a '
      + 'private chat is posted on the public thread, as you. When they follow it, this handoff '
      + 'moves there.',
    );
    if (!sure) return;
    ui.invite.disabled = true;
    try {
      const answer = await api('POST', `${API}/handoffs/${encodeURIComponent(h.id)}/invite`);
      showNotice(str(answer && answer.notice));
    } catch (err) {
      showNotice(err.message);
    } finally {
      ui.invite.disabled = false;
    }
    stickToBottom = true;
    await refreshDetail();
  }

  async function send() {
    const h = state.detail ? state.detail.handoff : null;
    const text = ui.text.value.trim();
    if (!h || !isOpen(h) || !text || ui.send.disabled) return;
    const note = ui.note.checked;
    const pending = state.pendingSend;
    const clientId = pending && pending.text === text && pending.note === note
      ? pending.clientId : uuid().replace(/[^A-Za-z0-9-]/g, '');
    state.pendingSend = { text, note, clientId };
    ui.send.disabled = true;
    ui.composerError.hidden = true;
    const path = `${API}/handoffs/${encodeURIComponent(h.id)}/reply`;
    try {
      try {
        await api('POST', path, { text, note, client_id: clientId });
      } catch (err) {
        // "Note: ..." with the switch off: the customer would read it. The agent says which.
        const asked = err.outcome === 'looks_like_note';
        if (!asked || !window.confirm(`${err.message}\n\nSend it to the customer?`)) throw err;
        await api('POST', path, { text, note, client_id: clientId, as_typed: true });
      }
      state.pendingSend = null;
      ui.text.value = '';
      autosize();
    } catch (err) {
      if (err.status !== 0) state.pendingSend = null; // refused for good: a new try is new
      ui.composerError.textContent = err.message;
      ui.composerError.hidden = false;
    } finally {
      ui.send.disabled = false;
    }
    stickToBottom = true;
    await refreshDetail();
    ui.text.focus();
  }

  /* ------------------------------------------------------------------ the thread */

  const threadNodes = new Map(); // item id -> {sig, node}
  let stickToBottom = true;

  function renderThread(items) {
    const scroller = ui.scroll;
    const nearBottom = stickToBottom
      || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
    stickToBottom = false;
    const wanted = new Set();
    let previous = null;
    for (const item of items) {
      const id = str(item.id);
      wanted.add(id);
      const sig = JSON.stringify(item);
      let known = threadNodes.get(id);
      if (!known || known.sig !== sig) {
        const node = threadNode(item);
        if (known) known.node.replaceWith(node);
        known = { sig, node };
        threadNodes.set(id, known);
      }
      const expected = previous ? previous.nextSibling : ui.thread.firstChild;
      if (known.node !== expected) ui.thread.insertBefore(known.node, expected);
      previous = known.node;
    }
    for (const [id, known] of threadNodes) {
      if (!wanted.has(id)) {
        known.node.remove();
        threadNodes.delete(id);
      }
    }
    if (nearBottom) scroller.scrollTop = scroller.scrollHeight;
  }

  /** A warning from the desk itself (SLA due soon, breached, the shift opening, a priority raised). */
  /** The tag of each level of a desk alert (handoff.desk_view.AlertLevel). */
  const ALERT_TAGS = {
    breach: 'SLA breached',
    warning: 'SLA alert',
    info: 'Desk',
    priority: 'Priority raised',
    reopened: 'Reopened',
    feedback: 'Poor rating',
    taken_over: 'Taken over',
    moved: 'Moved to private',
  };

  function alertNode(item) {
    const level = Object.hasOwn(ALERT_TAGS, item.level) ? item.level : 'info';
    const li = el('li', 'cc-alert');
    li.dataset.testid = 'thread-item';
    li.dataset.kind = 'alert';
    li.dataset.level = level;
    li.dataset.id = str(item.id);
    li.setAttribute('role', 'note');
    li.appendChild(icon('alert', 18));
    const body = el('div', 'cc-alert-body');
    const label = el('div', 'cc-alert-label');
    label.appendChild(el('span', null, 'Relevo'));
    label.appendChild(el('span', 'cc-alert-tag', ALERT_TAGS[level]));
    label.appendChild(timeNode(item.time));
    body.appendChild(label);
    body.appendChild(el('p', 'cc-alert-text', str(item.text)));
    li.appendChild(body);
    return li;
  }

  function threadNode(item) {
    if (item.kind === 'alert') return alertNode(item);
    if (item.kind === 'event') {
      const label = EVENTS[item.event] ? EVENTS[item.event](str(item.agent)) : str(item.event);
      const li = el('li', 'cc-event', label);
      li.dataset.testid = 'thread-item';
      li.dataset.kind = 'event';
      li.dataset.event = str(item.event);
      const t = parseTime(item.time);
      if (t) li.title = fullFmt.format(t);
      return li;
    }
    const author = item.kind === 'note' ? 'note' : ['customer', 'bot', 'agent'].includes(item.author) ? item.author : 'bot';
    const li = el('li', `cc-row cc-row--${author}`);
    li.dataset.testid = 'thread-item';
    li.dataset.kind = str(item.kind);
    li.dataset.author = author;
    li.dataset.id = str(item.id);

    if (author !== 'customer') {
      const label = el('div', 'cc-label');
      const who = author === 'bot' ? 'Assistant' : str(item.agent) || 'Agent';
      const you = state.me && item.agent_id === state.me.id ? ' (you)' : '';
      label.appendChild(el('span', null, who + you));
      if (author === 'note') label.appendChild(el('span', 'cc-badge', 'Internal'));
      if (item.kind === 'invite') label.appendChild(el('span', 'cc-badge cc-badge--invite', 'Invitation to private'));
      li.appendChild(label);
    }
    li.appendChild(el('div', 'cc-bubble', str(item.text)));

    const meta = el('div', 'cc-meta');
    meta.appendChild(timeNode(item.time));
    if (item.public) meta.appendChild(el('span', 'cc-badge cc-badge--plain', 'In public')); // before a move to private
    if (item.command) meta.appendChild(el('span', 'cc-badge cc-badge--plain', 'Command'));
    if (item.kind === 'reply' || item.kind === 'invite') {
      const delivery = el('span', 'cc-delivery');
      delivery.dataset.testid = 'delivery';
      delivery.dataset.state = str(item.delivery);
      if (item.delivery === 'ok') {
        delivery.textContent = '✓ Delivered';
      } else if (item.delivery === 'failed') {
        delivery.textContent = `⚠ Not delivered${item.reason ? `: ${str(item.reason)}` : ''}`;
      } else {
        delivery.textContent = 'Sending…';
      }
      meta.appendChild(delivery);
    }
    li.appendChild(meta);
    return li;
  }

  /* ------------------------------------------------------------------ details */

  function renderAside(detail) {
    const h = detail.handoff;
    const facts = [
      ['Customer', customerName(h)],
      ['Conversation', h.conversation_id],
      ['Reason', REASONS[h.reason] || h.reason],
      ['Overheard', h.overheard ? `the post matched “${str(h.overheard)}”; nobody wrote to us` : ''],
      ['In reply to', h.brand_post ? `our post: “${str(h.brand_post)}”` : ''],
      ['Priority', `${PRIORITIES[h.priority] || str(h.priority)} · score ${Number(h.score) || 0}`],
      ['Department', str(h.department_name)],
      ['Created', h.created_at],
      ['Reopened', h.waiting_since && h.waiting_since !== h.created_at ? h.waiting_since : ''],
      ['Shift opens', h.opens_at],
      ['SLA due', h.sla_due_at],
      ['Resolution due', h.resolution_due_at],
      ['Claimed', h.claimed_at],
      ['First reply', h.first_response_at],
      ['Resolved', h.state === 'closed' ? h.resolved_at : ''], // not an earlier cycle's
      ['Rating', h.rating ? `${h.rating}/5` : ''],
      ['Notes', h.notes ? String(h.notes) : ''],
    ];
    const c = h.customer || {};
    if (c.followers) facts.splice(1, 0, ['Followers', Number(c.followers).toLocaleString(LOCALE)]);
    if (c.handle && c.name) facts.splice(1, 0, ['Handle', `@${str(c.handle)}`]); // else it is the name
    const rows = [];
    for (const [name, value] of facts) {
      if (!value) continue;
      const when = /^\d{4}-\d\d-\d\dT/.test(str(value)) ? parseTime(value) : null;
      rows.push(el('dt', null, name), el('dd', null, when ? fullFmt.format(when) : str(value)));
    }
    if (/^https?:\/\//.test(str(c.url))) { // the customer's post, to read it where it stands
      const link = el('a', null, 'Open the post');
      link.href = str(c.url);
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      const cell = el('dd');
      cell.appendChild(link);
      rows.push(el('dt', null, 'Post'), cell);
    }
    ui.facts.replaceChildren(...rows);

    ui.draftBox.hidden = !detail.draft;
    ui.draft.textContent = str(detail.draft);
    ui.useDraft.disabled = !isMine(h);

    const hits = Array.isArray(detail.hits) ? detail.hits : [];
    ui.hitsBox.hidden = hits.length === 0;
    ui.hits.replaceChildren(...hits.map((hit) => {
      const li = el('li');
      li.appendChild(el('span', null, str(hit.title) || str(hit.article_id)));
      li.appendChild(el('span', 'cc-score', Number(hit.score).toFixed(2)));
      return li;
    }));

    const events = Array.isArray(detail.history) ? detail.history : [];
    ui.activity.replaceChildren(...events.map((e) => {
      const li = el('li');
      const who = e.by === 'customer' ? 'The customer' : str(e.by_name) || str(e.by);
      let what = HISTORY[e.action] || str(e.action);
      if (e.action === 'rating') what += ` ${str(e.rating)}/5`;
      li.appendChild(el('span', null, `${who} ${what}`));
      li.appendChild(timeNode(e.at));
      return li;
    }));
  }

  function tick() {
    if (!state.me) return;
    renderQueue();
    if (state.detail) {
      renderWhoMeta();
      renderBadges(state.detail.handoff);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
