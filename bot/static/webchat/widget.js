/*
 * Relevo web chat widget. A site adds one tag:
 *
 *   <script src="https://relevo.example/webchat/widget.js" async
 *           data-title="Brisa Air" data-color="#0b6b8c"></script>
 *
 * and gets a round launcher (bottom right) that opens the chat of that gateway in an iframe.
 * Everything lives in one <relevo-webchat-widget> element with an open shadow root; its styles are
 * prefixed (rlvw-) and cannot leak into the page nor take the page's. The only global is
 * window.RelevoWidget = {open, close, toggle, isOpen}.
 */
(() => {
  'use strict';

  if (window.RelevoWidget) return; // the tag was added twice

  const script = document.currentScript
    || Array.from(document.querySelectorAll('script[src]'))
      .find((s) => /\/webchat\/widget\.js(?:[?#]|$)/.test(s.src));
  if (!script) return;

  let origin;
  try {
    origin = new URL(script.src, location.href).origin;
  } catch (_) {
    return;
  }

  const es = /^es\b/i.test(String(navigator.language || ''));
  const L = es
    ? { open: 'Habla con nosotros', close: 'Cerrar el chat', frame: 'Chat de atención al cliente', unread: 'Mensaje nuevo' }
    : { open: 'Chat with us', close: 'Close chat', frame: 'Customer care chat', unread: 'New message' };

  const title = String(script.getAttribute('data-title') || '').trim().slice(0, 60);
  const rawColor = String(script.getAttribute('data-color') || '').trim();
  const color = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(rawColor) ? rawColor : '';

  /** Dark ink on light accents, white on dark ones (WCAG relative luminance). */
  function inkFor(hex) {
    let h = hex.slice(1);
    if (h.length === 3) h = h.split('').map((c) => c + c).join('');
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 ? '#10202b' : '#ffffff';
  }

  const accent = color || '#0b6b8c';
  const ink = inkFor(accent);

  const frameUrl = (() => {
    const url = new URL('/', origin);
    url.searchParams.set('embed', '1');
    if (title) url.searchParams.set('title', title);
    if (color) url.searchParams.set('color', color);
    return url.href;
  })();

  const CSS = `
    :host { all: initial; }
    .rlvw-launcher, .rlvw-panel, .rlvw-close, .rlvw-badge { box-sizing: border-box; }
    .rlvw-launcher {
      position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
      right: max(20px, env(safe-area-inset-right)); bottom: max(20px, env(safe-area-inset-bottom));
      display: grid; place-items: center; width: 60px; height: 60px; margin: 0; padding: 0;
      border: 0; border-radius: 50%; cursor: pointer;
      color: var(--rlvw-ink); background: var(--rlvw-accent);
      box-shadow: 0 6px 20px rgba(0,0,0,.22), 0 2px 6px rgba(0,0,0,.14);
      transition: transform .18s ease, box-shadow .18s ease;
      animation: rlvw-pop .3s ease-out;
      -webkit-tap-highlight-color: transparent;
    }
    .rlvw-launcher:hover { transform: scale(1.06); box-shadow: 0 8px 26px rgba(0,0,0,.26), 0 2px 6px rgba(0,0,0,.14); }
    .rlvw-launcher:active { transform: scale(.96); }
    .rlvw-launcher:focus-visible, .rlvw-close:focus-visible {
      outline: 3px solid var(--rlvw-accent); outline-offset: 3px;
    }
    .rlvw-launcher svg { width: 28px; height: 28px; display: block; transition: transform .2s ease, opacity .2s ease; }
    .rlvw-launcher .rlvw-icon-close { position: absolute; opacity: 0; transform: rotate(-90deg) scale(.6); }
    .rlvw-launcher[aria-expanded="true"] .rlvw-icon-chat { opacity: 0; transform: rotate(90deg) scale(.6); }
    .rlvw-launcher[aria-expanded="true"] .rlvw-icon-close { opacity: 1; transform: none; }
    .rlvw-badge {
      position: absolute; top: 2px; right: 2px; width: 16px; height: 16px; border-radius: 50%;
      background: #e5484d; border: 2px solid #fff;
    }
    .rlvw-badge[hidden] { display: none; }
    .rlvw-panel {
      position: fixed; right: 20px; bottom: 92px; z-index: 2147483001;
      width: 380px; height: 600px; max-height: calc(100vh - 112px); max-height: calc(100dvh - 112px);
      overflow: hidden; border-radius: 18px; background: #fff;
      box-shadow: 0 18px 50px rgba(0,0,0,.25), 0 4px 12px rgba(0,0,0,.12);
      transform-origin: bottom right;
      animation: rlvw-open .22s ease-out;
    }
    .rlvw-panel[hidden] { display: none; }
    .rlvw-frame { display: block; width: 100%; height: 100%; border: 0; background: transparent; color-scheme: normal; }
    .rlvw-close {
      position: absolute; top: 14px; right: 12px; display: grid; place-items: center;
      width: 36px; height: 36px; margin: 0; padding: 0; border: 0; border-radius: 50%; cursor: pointer;
      color: var(--rlvw-ink); background: rgba(255,255,255,.16);
      transition: background-color .15s ease;
    }
    .rlvw-close:hover { background: rgba(255,255,255,.3); }
    .rlvw-close svg { width: 20px; height: 20px; display: block; }
    @media (max-width: 479.98px) {
      .rlvw-panel {
        top: 0; right: 0; bottom: 0; left: 0; width: 100%; height: 100%;
        max-height: none; border-radius: 0; animation-name: rlvw-slide;
      }
      .rlvw-panel:not([hidden]) ~ .rlvw-launcher { display: none; }
      .rlvw-close { top: max(14px, env(safe-area-inset-top)); }
    }
    @media (prefers-color-scheme: dark) {
      .rlvw-panel { background: #11181d; }
    }
    @keyframes rlvw-pop { from { transform: scale(.4); opacity: 0; } to { transform: none; opacity: 1; } }
    @keyframes rlvw-open { from { transform: translateY(12px) scale(.97); opacity: 0; } to { transform: none; opacity: 1; } }
    @keyframes rlvw-slide { from { transform: translateY(24px); opacity: 0; } to { transform: none; opacity: 1; } }
    @media (prefers-reduced-motion: reduce) {
      .rlvw-launcher, .rlvw-panel, .rlvw-launcher svg { animation: none; transition: none; }
      .rlvw-launcher:hover { transform: none; }
    }
  `;

  const ICON_CHAT = '<svg class="rlvw-icon-chat" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M20 11.5a7.5 7.5 0 0 1-11.1 6.58L4 19.5l1.42-4.5A7.5 7.5 0 1 1 20 11.5Z"/><path d="M8.5 11.5h.01M12 11.5h.01M15.5 11.5h.01" stroke-width="2.6"/></svg>';
  const ICON_CLOSE = '<svg class="rlvw-icon-close" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" aria-hidden="true"><path d="M6 6l12 12M18 6 6 18"/></svg>';

  let host;
  let launcher;
  let panel;
  let frame;
  let badge;
  let lastFocus = null;

  function build() {
    host = document.createElement('relevo-webchat-widget');
    host.setAttribute('style', 'all: initial !important; position: static !important; display: contents !important;');
    const root = host.attachShadow({ mode: 'open' });
    root.host.style.setProperty('--rlvw-accent', accent);
    root.host.style.setProperty('--rlvw-ink', ink);

    const style = document.createElement('style');
    style.textContent = CSS;

    panel = document.createElement('div');
    panel.className = 'rlvw-panel';
    panel.id = 'rlvw-panel';
    panel.hidden = true;
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', title || L.frame);

    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'rlvw-close';
    close.setAttribute('aria-label', L.close);
    close.title = L.close;
    close.innerHTML = ICON_CLOSE.replace('class="rlvw-icon-close" ', ''); // static markup only
    close.addEventListener('click', () => api.close());
    panel.appendChild(close);

    launcher = document.createElement('button');
    launcher.type = 'button';
    launcher.className = 'rlvw-launcher';
    launcher.setAttribute('aria-label', L.open);
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-controls', 'rlvw-panel');
    launcher.title = title ? `${L.open} · ${title}` : L.open;
    launcher.innerHTML = ICON_CHAT + ICON_CLOSE; // static markup only
    badge = document.createElement('span');
    badge.className = 'rlvw-badge';
    badge.hidden = true;
    badge.setAttribute('aria-hidden', 'true');
    launcher.appendChild(badge);
    launcher.addEventListener('click', () => api.toggle());

    root.append(style, panel, launcher);
    document.body.appendChild(host);

    panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') api.close();
    });
    window.addEventListener('message', onFrameMessage);
  }

  /** The chat page posts {source: 'relevo-webchat', type: 'message' | 'close'}; nothing else is trusted. */
  function onFrameMessage(e) {
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin) return;
    const data = e.data;
    if (!data || data.source !== 'relevo-webchat') return;
    if (data.type === 'close') api.close();
    else if (data.type === 'message' && panel.hidden) {
      badge.hidden = false;
      launcher.title = L.unread;
    }
  }

  let frameReady = false;

  function focusChat() {
    if (!frame || !frame.contentWindow) return;
    // On phones the keyboard would cover the conversation: let the customer tap the field first.
    if (window.matchMedia('(max-width: 479.98px)').matches) return;
    frame.contentWindow.postMessage({ source: 'relevo-widget', type: 'focus' }, origin);
  }

  const api = {
    open() {
      if (!panel || !panel.hidden) return;
      // Focus inside the shadow root (the launcher) shows outside as the host, which cannot take
      // it back: close() then returns it to the launcher.
      lastFocus = document.activeElement === host ? null : document.activeElement;
      if (!frame) {
        frame = document.createElement('iframe');
        frame.className = 'rlvw-frame';
        frame.title = title || L.frame;
        frame.src = frameUrl;
        frame.setAttribute('allow', 'clipboard-write');
        frame.setAttribute('referrerpolicy', 'no-referrer');
        // Until it has loaded, the frame is about:blank: a focus request to it is lost, and
        // the browser logs an error for the origin.
        frame.addEventListener('load', () => {
          frameReady = true;
          if (!panel.hidden) focusChat();
        });
        panel.insertBefore(frame, panel.firstChild);
      }
      panel.hidden = false;
      launcher.setAttribute('aria-expanded', 'true'); // the name stays "Chat with us"; the state says open
      launcher.title = L.close;
      badge.hidden = true;
      frame.focus();
      if (frameReady) focusChat();
    },
    close() {
      if (!panel || panel.hidden) return;
      panel.hidden = true;
      launcher.setAttribute('aria-expanded', 'false');
      launcher.title = title ? `${L.open} · ${title}` : L.open;
      const back = lastFocus && lastFocus !== document.body && document.contains(lastFocus) ? lastFocus : launcher;
      try { back.focus({ preventScroll: true }); } catch (_) { launcher.focus(); }
    },
    toggle() {
      if (panel && panel.hidden) api.open();
      else api.close();
    },
    isOpen() {
      return !!panel && !panel.hidden;
    },
  };

  window.RelevoWidget = Object.freeze(api);

  if (document.body) build();
  else document.addEventListener('DOMContentLoaded', build, { once: true });
})();
