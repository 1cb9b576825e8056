/* Citizen upload page.
 *
 * Served at <base>/c/<token> under a strict CSP: everything is plain DOM work, no inline
 * styles, no innerHTML with data. The link's API lives under the page's own path
 * (<page>/session, <page>/uploads, <page>/complete); file bytes go straight to S3 with
 * presigned POSTs, so the API never carries large bodies.
 */
(function () {
  'use strict';

  const MAX_PARALLEL = 3;             // uploads at once: more only fights for a phone's uplink
  const CAPTION_MAX = 1000;

  // Some phones hand over files without a type (HEIC, MOV on older Android): guess from the
  // extension so the file is not refused for a missing label. The server sniffs the bytes anyway.
  const TYPE_BY_EXTENSION = {
    jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp',
    heic: 'image/heic', heif: 'image/heif',
    mp4: 'video/mp4', m4v: 'video/mp4', mov: 'video/quicktime', '3gp': 'video/3gpp',
    webm: 'video/webm', mkv: 'video/x-matroska', avi: 'video/x-msvideo',
    mp3: 'audio/mpeg', m4a: 'audio/x-m4a', aac: 'audio/aac', wav: 'audio/wav', ogg: 'audio/ogg',
    oga: 'audio/ogg', amr: 'audio/amr', pdf: 'application/pdf',
  };
  // Other names browsers use for types the server knows under one name.
  const TYPE_ALIASES = {
    'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg', 'audio/mp3': 'audio/mpeg',
    'audio/m4a': 'audio/x-m4a', 'audio/vnd.wave': 'audio/wav', 'video/avi': 'video/x-msvideo',
    'video/x-m4v': 'video/mp4', 'audio/3gpp': 'video/3gpp',
  };
  // Types the browser can draw as a thumbnail (HEIC mostly cannot).
  const PREVIEWABLE = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

  // The script's own URL, so i18n.json is found next to it whatever the page path looks like.
  const SCRIPT_URL = document.currentScript ? document.currentScript.src : '../static/citizen.js';
  const API_BASE = location.pathname.replace(/\/+$/, '');

  const state = {
    lang: 'en',
    strings: {},
    session: null,
    declared: 0,       // files already declared on the server for this link
    items: [],         // one per chosen file, in the order shown
    nextKey: 1,
    phase: 'loading',  // loading | picking | sending | checking | finishing | done | broken
    wakeLock: null,
    pending: [],       // files declared earlier and not yet arrived (from this phone's storage)
    rate: { at: 0, bytes: 0, bps: 0 },
  };
  const T = window.CitizenTransfer;
  const STORE_KEY = 'citizen-upload:' + API_BASE;
  const VERDICT_WAIT_MS = 120000;     // after this the page says "received, still being checked"

  const $ = (id) => document.getElementById(id);

  /* ---------- strings ---------- */

  async function loadStrings() {
    try {
      const response = await fetch(new URL('i18n.json', SCRIPT_URL).href, { cache: 'no-cache' });
      return response.ok ? await response.json() : {};
    } catch (err) {
      return {};  // the page still works with the English text baked into the HTML
    }
  }

  function t(key, vars) {
    const table = state.strings[state.lang] || {};
    const english = state.strings.en || {};
    let text = key in table ? table[key] : (key in english ? english[key] : key);
    for (const [name, value] of Object.entries(vars || {})) {
      text = text.split('{' + name + '}').join(String(value));
    }
    return text;
  }

  // Plural forms: "<key>.one" / "<key>.other", picked by the language's own rules.
  function tp(key, count, vars) {
    let form = 'other';
    try {
      form = new Intl.PluralRules(state.lang).select(count) === 'one' ? 'one' : 'other';
    } catch (err) { form = count === 1 ? 'one' : 'other'; }
    return t(key + '.' + form, Object.assign({ count: count }, vars || {}));
  }

  function applyStaticStrings() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll('[data-i18n]')) {
      node.textContent = t(node.getAttribute('data-i18n'));
    }
  }

  function formatBytes(bytes) {
    const units = ['unit.b', 'unit.kb', 'unit.mb', 'unit.gb'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    const digits = unit === 0 || value >= 10 ? 0 : 1;
    const number = new Intl.NumberFormat(state.lang, { maximumFractionDigits: digits }).format(value);
    return number + '\u00a0' + t(units[unit]);
  }

  function formatDate(iso) {
    const date = new Date(iso);
    if (isNaN(date.getTime())) return iso;
    try {
      return new Intl.DateTimeFormat(state.lang, { dateStyle: 'long', timeStyle: 'short' }).format(date);
    } catch (err) { return date.toLocaleString(); }
  }

  /* ---------- talking to the API ---------- */

  class ApiError extends Error {
    constructor(code, message, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  // Every error the API sends is {"code", "message"}; anything else (a proxy's HTML page, a
  // dropped connection) becomes a translated generic message so the citizen never sees junk.
  async function callApi(path, body) {
    const init = { method: body === undefined ? 'GET' : 'POST', cache: 'no-store',
                   credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(API_BASE + path, init);
    } catch (err) {
      throw new ApiError('network', t('error.network'), 0);
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok) {
      const code = data && data.code ? data.code : 'http_' + response.status;
      const own = t('error.code.' + code);  // the citizen's language when we have the words
      const message = own !== 'error.code.' + code ? own
        : (data && typeof data.message === 'string' ? data.message : t('error.unexpected'));
      throw new ApiError(code, message, response.status);
    }
    if (data === null) throw new ApiError('bad_response', t('error.unexpected'), response.status);
    return data;
  }

  /* ---------- screen helpers ---------- */

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === 'text') node.textContent = value;
      else if (name === 'className') node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function show(id, visible) { $(id).hidden = !visible; }

  function showError(title, message) {
    $('error-title').textContent = title;
    $('error-message').textContent = message;
    show('error', true);
    $('error').focus();
  }

  function clearError() { show('error', false); }

  // Re-setting the same text would not be announced again, so clear first.
  function announce(text) {
    const status = $('status');
    status.textContent = '';
    setTimeout(() => { status.textContent = text; }, 50);
  }

  /* ---------- start ---------- */

  async function start() {
    const stringsLoading = loadStrings();
    let session = null;
    let failure = null;
    try {
      session = await callApi('/session');
    } catch (err) {
      failure = err;
    }
    state.strings = await stringsLoading;
    const browser = (navigator.language || 'en').slice(0, 2).toLowerCase();
    state.lang = session && state.strings[session.language] ? session.language
      : (state.strings[browser] ? browser : 'en');
    setupLanguagePicker();
    applyStaticStrings();
    show('loading', false);
    if (failure) {
      showBrokenLink(failure);
      return;
    }
    state.session = session;
    state.declared = session.files_declared || 0;
    renderSession(session);
    state.phase = 'picking';
    updatePicker();
    updateSendBar();
    show('form', true);
  }

  function setupLanguagePicker() {
    const picker = $('lang');
    picker.value = state.lang;
    picker.addEventListener('change', () => {
      if (!state.strings[picker.value]) return;
      state.lang = picker.value;
      applyStaticStrings();
      if (state.session) renderSessionTexts(state.session);
      for (const item of state.items) relabel(item);
      if (state.phase === 'picking') { updatePicker(); updateSendBar(); }
      if (state.phase === 'done') showConfirmation(state.result);
      else updateOverall();
    });
  }

  function showBrokenLink(err) {
    state.phase = 'broken';
    const titleKey = 'error.' + err.code + '.title';
    const title = t(titleKey) === titleKey ? t('error.generic.title') : t(titleKey);
    $('agency-name').textContent = t('header.agency_unknown');
    showError(title, err.message);
  }

  function renderSession(session) {
    renderSessionTexts(session);
    $('file-input').setAttribute('accept', acceptAttribute(session.allowed_types || []));
    $('file-input').addEventListener('change', onFilesChosen);
    $('send').addEventListener('click', onSend);
    $('finish-retry').addEventListener('click', finish);
    state.pending = loadPending();
    showPending();
    if (state.pending.length) dropArrived();
  }

  // Files the server already has (or gave up) need no re-picking.
  async function dropArrived() {
    try {
      const answer = await callApi('/files');
      const waiting = new Set(answer.files.filter((f) => f.status === 'awaiting_upload').map((f) => f.file_id));
      state.pending = state.pending.filter((p) => waiting.has(p.fileId));
      savePending();
      showPending();
    } catch (err) { /* keep the note: picking the file again still works */ }
  }

  function renderSessionTexts(session) {
    const agency = session.agency_name || '';
    $('agency-name').textContent = agency || t('header.agency_unknown');
    document.title = agency ? t('page.title') + ' — ' + agency : t('page.title');
    $('intro-text').textContent = agency ? t('intro.text', { agency: agency }) : t('intro.text_generic');
    $('privacy').textContent = agency ? t('footer.privacy', { agency: agency }) : t('footer.privacy_generic');
    if (session.note) {
      $('note-text').textContent = session.note;
      show('note', true);
    }
    $('expires').textContent = t('expires', { date: formatDate(session.expires_at) });
    $('limits').textContent = t('limits', { count: session.max_files, size: formatBytes(session.max_file_bytes) });
    if (state.declared > 0) {
      $('already').textContent = tp('already', state.declared, { remaining: Math.max(0, remainingSlots()) });
      show('already', true);
    }
    $('accepted').textContent = t('accepted', { types: acceptedNames(session.allowed_types || []) });
  }

  // "photos (JPEG, PNG…), videos (MP4, MOV…)": what may be sent, said before anything is picked.
  function acceptedNames(allowed) {
    const byKind = {};
    for (const type of allowed) {
      const ext = Object.keys(TYPE_BY_EXTENSION).find((e) => TYPE_BY_EXTENSION[e] === type);
      const names = byKind[kindOf(type)] = byKind[kindOf(type)] || [];
      if (ext && !names.includes(ext.toUpperCase())) names.push(ext.toUpperCase());  // a name people know
    }
    return Object.entries(byKind).map(([kind, exts]) => t('kinds.' + kind) + ' (' + exts.join(', ') + ')').join('; ');
  }

  /* ---------- resuming after a reload ---------- */

  function loadPending() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY) || '[]'); } catch (err) { return []; }
  }

  function savePending() {
    const open = state.items.filter((it) => it.fileId && !['done', 'skipped'].includes(it.status))
      .map((it) => ({ fileId: it.fileId, name: it.file.name, size: it.file.size,
                      lastModified: it.file.lastModified, type: it.type }));
    const others = state.pending.filter((p) => !open.some((o) => o.fileId === p.fileId));
    try { localStorage.setItem(STORE_KEY, JSON.stringify(others.concat(open))); } catch (err) { /* private mode */ }
  }

  function forgetPending(fileId) {
    state.pending = state.pending.filter((p) => p.fileId !== fileId);
    savePending();
  }

  function showPending() {
    const note = $('resume-note');
    note.hidden = state.pending.length === 0;
    note.textContent = state.pending.length
      ? t('resume.note', { names: state.pending.map((p) => p.name).join(', ') }) : '';
  }

  function pendingMatch(file) {
    return state.pending.find((p) => p.name === file.name && p.size === file.size
                                     && p.lastModified === file.lastModified);
  }

  // "image/*,video/*,audio/*,application/pdf": wildcards let phones offer the camera and
  // gallery; odd types a wildcard lets through are refused with a message when picked.
  function acceptAttribute(allowed) {
    const parts = [];
    for (const type of allowed) {
      const family = type.split('/')[0];
      const entry = ['image', 'video', 'audio'].includes(family) ? family + '/*' : type;
      if (!parts.includes(entry)) parts.push(entry);
    }
    return parts.join(',');
  }

  /* ---------- choosing files ---------- */

  function remainingSlots() {
    return state.session.max_files - state.declared - state.items.filter((it) => !it.resumed).length;
  }

  function contentTypeOf(file) {
    let type = (file.type || '').split(';')[0].trim().toLowerCase();
    if (TYPE_ALIASES[type]) type = TYPE_ALIASES[type];
    if (!type || !state.session.allowed_types.includes(type)) {
      const ext = (file.name.split('.').pop() || '').toLowerCase();
      const guess = TYPE_BY_EXTENSION[ext];
      if (guess && (!type || type === 'application/octet-stream')) type = guess;
    }
    return type;
  }

  // A file with no type and no extension: look at its first bytes before refusing it.
  async function sniff(file) {
    const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
    const text = String.fromCharCode.apply(null, Array.from(head));
    if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
    if (text.startsWith('\x89PNG')) return 'image/png';
    if (text.startsWith('GIF8')) return 'image/gif';
    if (text.startsWith('%PDF')) return 'application/pdf';
    if (text.startsWith('RIFF') && text.slice(8, 12) === 'WEBP') return 'image/webp';
    if (text.startsWith('RIFF') && text.slice(8, 12) === 'WAVE') return 'audio/wav';
    if (text.startsWith('ID3')) return 'audio/mpeg';
    if (text.startsWith('OggS')) return 'audio/ogg';
    if (text.slice(4, 8) === 'ftyp') return text.slice(8, 10) === 'qt' ? 'video/quicktime' : 'video/mp4';
    return '';
  }

  function kindOf(type) {
    if (type === 'application/pdf') return 'pdf';
    const family = type.split('/')[0];
    return ['image', 'video', 'audio'].includes(family) ? family : 'file';
  }

  // Returns a message explaining why the file cannot be added, or null if it can.
  function rejectionFor(file, type) {
    const session = state.session;
    const same = state.items.some((it) => it.file.name === file.name && it.file.size === file.size
                                         && it.file.lastModified === file.lastModified);
    if (same) return t('reject.duplicate', { name: file.name });
    if (!type) return t('reject.type', { name: file.name });
    if (!session.allowed_types.includes(type)) return t('reject.type', { name: file.name });
    if (file.size <= 0) return t('reject.empty', { name: file.name });
    if (file.size > session.max_file_bytes) {
      return t('reject.too_large', { name: file.name, size: formatBytes(file.size), max: formatBytes(session.max_file_bytes) });
    }
    if (remainingSlots() <= 0) return t('reject.too_many', { name: file.name, max: session.max_files });
    return null;
  }

  async function onFilesChosen(event) {
    const input = event.target;
    const files = Array.from(input.files || []);
    input.value = '';  // so the same file can be picked again after removing it
    const messages = $('pick-messages');
    messages.textContent = '';
    clearError();
    const refused = [];
    for (const file of files) {
      const earlier = pendingMatch(file);
      if (earlier && !state.items.some((it) => it.fileId === earlier.fileId)) {
        addItem(file, earlier.type, earlier.fileId);  // the same file as before the reload: resume it
        continue;
      }
      let type = contentTypeOf(file);
      if (!type && !file.name.includes('.')) type = await sniff(file);
      const problem = rejectionFor(file, type);
      if (problem) refused.push(file.name); else addItem(file, type);
    }
    if (refused.length) {
      const summary = tp('reject.summary', refused.length, { names: refused.join(', ') });
      messages.appendChild(el('li', { text: summary }));
    }
    updatePicker();
    updateSendBar();
  }

  function addItem(file, type, resumeId) {
    const item = {
      key: state.nextKey++, file: file, type: type, kind: kindOf(type), caption: '',
      status: 'ready', fileId: resumeId || null, upload: null, sent: 0, error: '', previewUrl: null, row: null,
      resumed: !!resumeId, verdict: null,
    };
    item.row = buildRow(item);
    state.items.push(item);
    $('file-list').appendChild(item.row.li);
  }

  function buildRow(item) {
    const name = item.file.name;
    const captionId = 'caption-' + item.key;
    const thumb = el('div', { className: 'thumb thumb-' + item.kind, 'aria-hidden': 'true' });
    if (PREVIEWABLE.includes(item.type)) {
      item.previewUrl = URL.createObjectURL(item.file);
      const img = el('img', { src: item.previewUrl, alt: '' });
      img.addEventListener('error', () => { img.remove(); thumb.textContent = t('kind.' + item.kind); });
      thumb.appendChild(img);
    } else {
      thumb.textContent = t('kind.' + item.kind);
    }
    const remove = el('button', { type: 'button', className: 'link-button remove',
                                  'aria-label': t('file.remove_label', { name: name }), text: t('file.remove') });
    remove.addEventListener('click', () => removeItem(item));

    const caption = el('textarea', { id: captionId, className: 'caption', rows: '2', maxlength: String(CAPTION_MAX),
                                     placeholder: t('file.caption_placeholder'), autocomplete: 'off' });
    caption.addEventListener('input', () => { item.caption = caption.value; });

    const progress = el('progress', { max: '1', value: '0', 'aria-label': t('file.progress_label', { name: name }) });
    const status = el('p', { className: 'file-status' });
    const error = el('p', { className: 'file-error', hidden: '' });
    const retry = el('button', { type: 'button', className: 'button button-small button-primary',
                                 'aria-label': t('file.retry_label', { name: name }), text: t('file.retry') });
    const skip = el('button', { type: 'button', className: 'button button-small button-secondary',
                                'aria-label': t('file.skip_label', { name: name }), text: t('file.skip') });
    retry.addEventListener('click', () => retryItem(item));
    skip.addEventListener('click', () => skipItem(item));
    const actions = el('div', { className: 'file-actions', hidden: '' }, [retry, skip]);
    const progressBox = el('div', { className: 'file-progress', hidden: '' }, [progress, status, error, actions]);

    const info = el('div', { className: 'file-info' }, [
      el('p', { className: 'file-name', text: name }),
      el('p', { className: 'file-meta', text: t('kind.' + item.kind) + ' · ' + formatBytes(item.file.size) }),
    ]);
    const captionLabel = el('label', { className: 'caption-label', for: captionId, text: t('file.caption_label') });
    const li = el('li', { className: 'file' }, [
      el('div', { className: 'file-head' }, [thumb, info, remove]),
      captionLabel, caption, progressBox,
    ]);
    return { li, remove, caption, captionLabel, progress, progressBox, status, error, actions, retry };
  }

  function removeItem(item) {
    const index = state.items.indexOf(item);
    if (index < 0 || state.phase !== 'picking') return;
    state.items.splice(index, 1);
    dropItem(item);
    // Keep keyboard users in the list rather than sending focus back to the top of the page.
    const next = state.items[index] || state.items[index - 1];
    if (next) next.row.remove.focus(); else $('file-input').focus();
    $('pick-messages').textContent = '';
    updatePicker();
    updateSendBar();
  }

  function dropItem(item) {
    if (item.previewUrl) URL.revokeObjectURL(item.previewUrl);
    item.row.li.remove();
  }

  function updatePicker() {
    const input = $('file-input');
    const full = remainingSlots() <= 0;
    input.disabled = state.phase !== 'picking' || full;
    $('pick-text').textContent = full ? t('full') : t(state.items.length ? 'pick.add_more' : 'pick.button');
    const heading = $('files-heading');
    heading.hidden = state.items.length === 0;
    heading.textContent = tp('files.heading', state.items.length);
  }

  function updateSendBar() {
    const count = state.items.length;
    const send = $('send');
    send.textContent = count ? tp('send.button', count) : t('send.button.none');
    send.disabled = count === 0 || state.phase !== 'picking';
    $('send-hint').textContent = count ? t('send.hint_ready') : t('send.hint_none');
  }

  /* ---------- sending ---------- */

  async function onSend() {
    if (state.phase !== 'picking' || state.items.length === 0) return;
    clearError();
    $('pick-messages').textContent = '';
    setPhase('sending');
    // Bring the overall progress into view: with many files it would be below the fold.
    $('upload-heading').focus();
    const fresh = state.items.filter((item) => !item.fileId);
    for (const item of state.items) if (item.resumed) setStatus(item, 'waiting');
    try {
      await declare(fresh);
    } catch (err) {
      setPhase('picking');
      showError(t('error.upload_request.title'), err.message);
      return;
    }
    await runQueue(state.items.filter((item) => item.status === 'waiting'));
    afterRound();
  }

  function setPhase(phase) {
    state.phase = phase;
    const locked = phase !== 'picking';
    for (const item of state.items) {
      if (locked && item.status === 'ready') item.row.status.textContent = t('file.status.waiting');
      item.row.caption.readOnly = locked;
      // Once sending, an empty description box only looks like something left to fill in.
      const noCaption = locked && !item.caption.trim();
      item.row.caption.hidden = noCaption;
      item.row.captionLabel.hidden = noCaption;
      item.row.remove.hidden = locked;
      item.row.progressBox.hidden = !locked;
    }
    $('send').hidden = locked;
    $('send-hint').hidden = locked;
    show('upload-panel', locked);
    show('finish-retry', false);
    show('pick-label', !locked);
    updatePicker();
    updateSendBar();
    if (phase === 'sending') holdWakeLock(); else releaseWakeLock();
  }

  // One request for all new files: the server checks the limits and returns, per file, a
  // presigned POST bound to its hash (small files, hashed first) or a multipart offer (large ones).
  async function declare(items) {
    if (items.length === 0) return;
    $('overall-text').textContent = t('upload.preparing');
    const threshold = state.session.multipart_threshold || Infinity;
    const files = [];
    for (const item of items) {
      const entry = { name: item.file.name, size: item.file.size, content_type: item.type };
      const caption = item.caption.trim().slice(0, CAPTION_MAX);
      if (caption) entry.caption = caption;
      if (item.file.size <= threshold) {
        const sha256 = await T.hashFile(item.file);
        if (sha256) entry.sha256 = sha256;
      }
      files.push(entry);
    }
    const response = await callApi('/uploads', { files: files });
    state.declared += items.length;
    items.forEach((item, index) => {
      const upload = response.uploads[index];
      item.fileId = upload.file_id;
      item.upload = upload;
      item.freshOffer = upload.multipart || null;  // just created: S3 holds none of its parts yet
      item.sha256 = files[index].sha256 || null;
      setStatus(item, 'waiting');
    });
    savePending();
    updateOverall();
  }

  // A small pool: each worker takes the next waiting file until none are left.
  async function runQueue(items) {
    const queue = items.slice();
    const worker = async () => {
      while (queue.length) await transfer(queue.shift());
    };
    const workers = [];
    for (let i = 0; i < Math.min(MAX_PARALLEL, queue.length); i += 1) workers.push(worker());
    await Promise.all(workers);
  }

  // Sends one file until it is in, however often the network drops; only the server refusing
  // (an expired link, a file given up) stops it.
  async function transfer(item) {
    item.error = '';
    const onRetry = () => { setStatus(item, navigator.onLine === false ? 'offline' : 'retrying'); };
    try {
      setStatus(item, 'uploading');
      const multipart = item.upload ? !!item.upload.multipart : await isMultipart(item);
      if (multipart) {
        const offer = item.freshOffer;
        item.freshOffer = null;  // a later try asks the server which parts it holds
        await T.sendInParts({ api: callApi, base: '/uploads/' + item.fileId, file: blobWithType(item), offer: offer,
                              onRetry: onRetry, onProgress: (bytes) => {
                                item.sent = bytes;
                                if (item.status !== 'uploading' && navigator.onLine !== false) setStatus(item, 'uploading');
                                scheduleProgress(item);
                              } });
      } else {
        await T.persist(async (tries) => {
          if (!item.upload || tries > 0) await refreshUrl(item);
          setStatus(item, 'uploading');
          item.sent = 0;
          await postToS3(item);
        }, onRetry);
      }
      item.sent = item.file.size;
      setStatus(item, 'checking');
      updateOverall();
      announce(t('upload.file_done', { name: item.file.name }));
    } catch (err) {
      if (err.code === 'file_already_received') {  // it got there before a reload: wait for its verdict
        item.sent = item.file.size;
        setStatus(item, 'checking');
        updateOverall();
        return;
      }
      item.sent = 0;
      item.error = err.message;
      setStatus(item, 'failed');
      updateOverall();
      announce(t('upload.file_failed', { name: item.file.name }));
    }
  }

  // A file resumed after a reload: the server knows whether it goes in parts.
  async function isMultipart(item) {
    try {
      await callApi('/uploads/' + item.fileId + '/parts');
      return true;
    } catch (err) {
      if (err.code === 'upload_not_found') return false;
      throw err;
    }
  }

  async function refreshUrl(item) {
    const entry = { name: item.file.name, size: item.file.size, content_type: item.type, file_id: item.fileId };
    if (item.sha256) entry.sha256 = item.sha256;
    const response = await callApi('/uploads', { files: [entry] });
    item.upload = response.uploads[0];
  }

  function postToS3(item) {
    const form = new FormData();
    // S3 requires the policy fields before the file, and the file as the last part.
    for (const [name, value] of Object.entries(item.upload.fields || {})) form.append(name, value);
    form.append('file', blobWithType(item), item.file.name);
    return T.send('POST', item.upload.url, form, {}, (loaded) => {
      item.sent = Math.min(item.file.size, loaded);
      scheduleProgress(item);
    });
  }

  // Send the part with the type we declared, even when the browser did not know it.
  function blobWithType(item) {
    return item.file.type === item.type ? item.file : item.file.slice(0, item.file.size, item.type);
  }


  /* ---------- progress ---------- */

  let progressFrame = 0;
  const progressDirty = new Set();

  // Progress events come fast; redraw at most once per frame.
  function scheduleProgress(item) {
    progressDirty.add(item);
    if (progressFrame) return;
    progressFrame = requestAnimationFrame(() => {
      progressFrame = 0;
      for (const dirty of progressDirty) {
        if (['uploading', 'retrying', 'offline'].includes(dirty.status)) setStatus(dirty, dirty.status);
      }
      progressDirty.clear();
      updateOverall();
    });
  }

  function setStatus(item, status) {
    item.status = status;
    const row = item.row;
    const size = item.file.size;
    row.progress.value = ['done', 'checking', 'verified', 'refused'].includes(status) ? 1 : (size ? item.sent / size : 0);
    const percent = Math.floor(100 * item.sent / (size || 1));
    row.status.textContent = status === 'uploading' ? t('file.status.uploading', { percent: percent })
      : t('file.status.' + status);
    row.li.className = 'file is-' + status;
    const problem = status === 'refused' ? t('refused.' + (item.verdict && item.verdict.reject_code || 'other')) : item.error;
    row.error.textContent = problem;
    row.error.hidden = !((status === 'failed' || status === 'refused') && problem);
    row.actions.hidden = status !== 'failed';
  }

  function updateOverall() {
    const counted = state.items.filter((item) => item.status !== 'skipped');
    const total = counted.reduce((sum, item) => sum + item.file.size, 0);
    const sent = counted.reduce((sum, item) => sum + item.sent, 0);
    const bar = $('overall-progress');
    bar.max = total || 1;
    bar.value = sent;
    $('overall-text').textContent = t('upload.overall_text', { sent: formatBytes(sent), total: formatBytes(total) });
    $('overall-rate').textContent = rateText(sent, total);
  }

  // Speed over the last few seconds and the time left at that speed.
  function rateText(sent, total) {
    const now = performance.now();
    const r = state.rate;
    if (!r.at || sent < r.bytes) { r.at = now; r.bytes = sent; return ''; }
    if (now - r.at >= 2000) {
      const bps = 1000 * (sent - r.bytes) / (now - r.at);
      r.bps = r.bps ? 0.6 * r.bps + 0.4 * bps : bps;
      r.at = now; r.bytes = sent;
    }
    if (state.phase !== 'sending' || !r.bps || sent >= total) return '';
    const seconds = Math.round((total - sent) / r.bps);
    const left = seconds < 90 ? t('time.seconds', { n: seconds }) : t('time.minutes', { n: Math.ceil(seconds / 60) });
    return t('upload.rate', { speed: formatBytes(r.bps), left: left });
  }

  function relabel(item) {
    const row = item.row;
    row.remove.textContent = t('file.remove');
    row.captionLabel.textContent = t('file.caption_label');
    row.retry.textContent = t('file.retry');
    setStatus(item, item.status);
  }

  /* ---------- after a round of uploads ---------- */

  const ACTIVE = ['waiting', 'uploading', 'retrying', 'offline'];

  // Called whenever some uploads end. Finishing waits until every file is sent or given up.
  function afterRound() {
    if (state.phase !== 'sending') return;
    if (state.items.some((item) => ACTIVE.includes(item.status))) return;
    const failed = state.items.filter((item) => item.status === 'failed');
    const summary = $('upload-summary');
    if (failed.length) {
      summary.textContent = t('upload.some_failed');
      summary.hidden = false;
      releaseWakeLock();
      failed[0].row.retry.focus();
      return;
    }
    summary.hidden = true;
    checkThenFinish();
  }

  // After 100%: wait for the server's verdict on each file before saying anything was received.
  async function checkThenFinish() {
    state.phase = 'checking';
    $('overall-text').textContent = t('upload.checking');
    announce(t('upload.checking'));
    const waiting = () => state.items.filter((it) => it.status === 'checking');
    const until = Date.now() + VERDICT_WAIT_MS;
    while (waiting().length && Date.now() < until) {
      try {
        const answer = await callApi('/files');
        for (const verdict of answer.files) {
          const item = state.items.find((it) => it.fileId === verdict.file_id);
          if (!item || item.status !== 'checking') continue;
          if (verdict.status === 'verified') { item.verdict = verdict; setStatus(item, 'verified'); }
          if (verdict.status === 'rejected') { item.verdict = verdict; setStatus(item, 'refused'); }
        }
      } catch (err) { /* a dropped answer: ask again */ }
      if (waiting().length) await T.sleep(1000);
    }
    for (const item of state.items) if (item.fileId) forgetPending(item.fileId);
    state.phase = 'sending';
    finish();
  }

  async function retryItem(item) {
    if (state.phase !== 'sending' || item.status !== 'failed') return;
    $('upload-summary').hidden = true;
    holdWakeLock();
    item.error = '';
    setStatus(item, 'waiting');
    await runQueue([item]);
    afterRound();
  }

  function skipItem(item) {
    if (state.phase !== 'sending' || item.status !== 'failed') return;
    item.sent = 0;
    setStatus(item, 'skipped');
    updateOverall();
    afterRound();
  }

  async function finish() {
    if (state.phase !== 'sending') return;
    const sent = state.items.filter((item) => ['checking', 'verified', 'refused'].includes(item.status));
    if (sent.length === 0) {
      // Nothing arrived: completing would close the link for nothing. Let them try again.
      for (const item of state.items) dropItem(item);
      state.items = [];
      setPhase('picking');
      $('pick-messages').appendChild(el('li', { text: t('upload.none_sent') }));
      announce(t('upload.none_sent'));
      return;
    }
    state.phase = 'finishing';
    show('finish-retry', false);
    $('overall-text').textContent = t('upload.finishing');
    let result;
    try {
      result = await callApi('/complete', {});
    } catch (err) {
      if (err.code === 'link_used') {
        // An earlier attempt went through but its answer was lost: the files are in.
        result = { files: sent.length, submission_id: null };
      } else {
        state.phase = 'sending';
        showError(t('error.complete.title'), err.message);
        show('finish-retry', true);
        return;
      }
    }
    state.result = result;
    showConfirmation(result);
  }

  // Each file as the server judged it: received and verified, refused (and why), or received
  // and still being checked. A summary line first, then one line per file.
  function showConfirmation(result) {
    state.phase = 'done';
    releaseWakeLock();
    clearError();
    const sent = state.items.filter((item) => ['checking', 'verified', 'refused'].includes(item.status));
    const refused = sent.filter((item) => item.status === 'refused');
    const count = sent.length - refused.length;
    const agency = state.session.agency_name;
    $('confirm-count').textContent = agency ? tp('confirm.count', count, { agency: agency })
      : tp('confirm.count_generic', count);
    $('confirm-refused').hidden = refused.length === 0;
    $('confirm-refused').textContent = refused.length ? tp('confirm.refused', refused.length) : '';
    const list = $('confirm-files');
    list.textContent = '';
    for (const item of sent) {
      const line = item.status === 'verified' ? t('confirm.file_verified', { name: item.file.name })
        : item.status === 'refused' ? t('confirm.file_refused', { name: item.file.name,
                                        reason: t('refused.' + (item.verdict.reject_code || 'other')) })
          : t('confirm.file_checking', { name: item.file.name });
      list.appendChild(el('li', { className: 'is-' + item.status, text: line }));
    }
    $('confirm-reference').textContent = result.submission_id ? t('confirm.reference', { id: result.submission_id }) : '';
    for (const item of state.items) if (item.previewUrl) URL.revokeObjectURL(item.previewUrl);
    show('form', false);
    show('confirmation', true);
    $('confirm-heading').focus();
    announce(t('confirm.heading'));
  }

  // Said at once when the network goes and comes back; the transfers pause and resume themselves.
  window.addEventListener('offline', () => {
    for (const item of state.items) if (['uploading', 'retrying'].includes(item.status)) setStatus(item, 'offline');
  });
  window.addEventListener('online', () => {
    for (const item of state.items) if (item.status === 'offline') setStatus(item, 'uploading');
  });

  /* ---------- staying alive while sending ---------- */

  function isBusy() { return ['sending', 'checking', 'finishing'].includes(state.phase); }

  window.addEventListener('beforeunload', (event) => {
    if (!isBusy()) return undefined;
    event.preventDefault();
    event.returnValue = t('leave.warning');  // most browsers show their own text instead
    return event.returnValue;
  });

  // A phone that locks its screen may suspend the page and stall the uploads.
  async function holdWakeLock() {
    if (!('wakeLock' in navigator) || state.wakeLock) return;
    try {
      state.wakeLock = await navigator.wakeLock.request('screen');
      state.wakeLock.addEventListener('release', () => { state.wakeLock = null; });
    } catch (err) { state.wakeLock = null; }  // not allowed here: uploads still work
  }

  function releaseWakeLock() {
    if (state.wakeLock) state.wakeLock.release().catch(() => {});
    state.wakeLock = null;
  }

  // The lock is dropped when the tab is hidden; take it again on return if still sending.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.phase === 'sending') holdWakeLock();
  });

  start().catch(() => {
    show('loading', false);
    showError('Something went wrong', 'Please reload the page.');
  });
}());
